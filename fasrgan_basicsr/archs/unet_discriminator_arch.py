import torch
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn as nn
from torch.nn import functional as F
from torch.nn.utils import spectral_norm

from .weight_init import check_weight_init, kaiming_init_

NORM_TYPES = ('batch', 'none', 'spectral')


def _conv(in_ch, out_ch, kernel_size, norm):
    conv = nn.Conv2d(in_ch, out_ch, kernel_size, padding=kernel_size // 2)
    return spectral_norm(conv) if norm == 'spectral' else conv


class DoubleConv(nn.Sequential):
    """(3×3 conv → norm → ReLU) × 2; the stage of the UNet discriminator (paper Fig. 3).

    ``norm``: one of ``NORM_TYPES``; ``first_bn_eps``: the eps of the first BatchNorm (the second keeps
    PyTorch's 1e-5).
    """

    def __init__(self, in_ch, out_ch, norm, first_bn_eps):
        layers = []
        for ch, eps in ((in_ch, first_bn_eps), (out_ch, 1e-5)):
            layers.append(_conv(ch, out_ch, 3, norm))
            if norm == 'batch':
                layers.append(nn.BatchNorm2d(out_ch, eps=eps))
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


@ARCH_REGISTRY.register()
class UNetDiscriminatorFA(nn.Module):
    """UNet-like discriminator of FASRGAN with a whole-image score and a per-pixel score map.

    Encoder (paper Sec. III-A): double convs with ``num_feat × (1, 2, 4, 4)`` channels and a 2×2
    max-pool before each of the last three stages, so the deepest feature has
    ``4·num_feat × input_size/8 × input_size/8`` elements. Two fully connected layers
    (→1024, LeakyReLU 0.2, →1) turn it into the score logit ``C(x)``.
    Decoder: three ×2 bilinear upsamplings, each concatenated with the encoder feature of the
    same size and followed by a double conv (``2·num_feat``, ``num_feat``, ``num_feat``), then a
    1×1 conv to ``map_channels``: the score-map logits whose sigmoid is ``M ∈ [0, 1]^{H×W×C}``.

    Args:
        num_in_ch (int): Input channels: 3 for images, 64 when it reads shared features (FA+Fs).
        num_feat (int): Base channel number. Default: 64 (the paper).
        map_channels (int): Channels of the score map; the image's channel count C. Default: 3.
        input_size (int): Input height = width the fully connected head is built for (the
            training ``gt_size``, 128 in the paper). Must be a multiple of 8.
        norm (str): ``'batch'`` (the authors), ``'none'`` or ``'spectral'`` (spectral norm on every
            conv and linear layer, no BatchNorm).
        bn_eps_as_channels (bool): The first BatchNorm of every double conv gets eps = its channel count
            (64, 128 or 256) instead of 1e-5: the authors' release constructs it as
            ``nn.BatchNorm2d(out_ch, out_ch)`` (``models/modules/architecture.py``, ``double_conv``), whose
            second positional argument is eps. Default: False (the paper's BatchNorm).
        weight_init (str): ``'default'`` (PyTorch's) or ``'kaiming'`` (the authors' release: Kaiming normal,
            fan_in, scale 1, zero biases; :mod:`.weight_init`).

    Shapes:
        forward: ``(B, num_in_ch, input_size, input_size)`` → ``(score (B, 1), map_logits
        (B, map_channels, input_size, input_size))``.
        score_map: ``(B, num_in_ch, H, W)`` with H, W multiples of 8 → ``(B, map_channels, H, W)``.
    """

    def __init__(self, num_in_ch=3, num_feat=64, map_channels=3, input_size=128, norm='batch',
                 bn_eps_as_channels=False, weight_init='default'):
        super().__init__()
        check_weight_init('UNetDiscriminatorFA', weight_init)
        if norm not in NORM_TYPES:
            raise ValueError(f'UNetDiscriminatorFA: norm must be one of {NORM_TYPES}, got {norm!r}.')
        if input_size % 8 != 0 or input_size <= 0:
            raise ValueError(f'UNetDiscriminatorFA: input_size must be a positive multiple of 8 (three 2×2 '
                             f'poolings), got {input_size}.')
        self.input_size = input_size
        f1, f2, f4 = num_feat, num_feat * 2, num_feat * 4

        def stage(in_ch, out_ch):
            return DoubleConv(in_ch, out_ch, norm, first_bn_eps=float(out_ch) if bn_eps_as_channels else 1e-5)

        # encoder
        self.enc1 = stage(num_in_ch, f1)
        self.enc2 = stage(f1, f2)
        self.enc3 = stage(f2, f4)
        self.enc4 = stage(f4, f4)
        # whole-image score head
        linear = spectral_norm if norm == 'spectral' else (lambda m: m)
        self.classifier = nn.Sequential(
            linear(nn.Linear(f4 * (input_size // 8)**2, 1024)), nn.LeakyReLU(0.2, inplace=True),
            linear(nn.Linear(1024, 1)))
        # decoder
        self.dec3 = stage(f4 + f4, f2)
        self.dec2 = stage(f2 + f2, f1)
        self.dec1 = stage(f1 + f1, f1)
        self.to_map = _conv(f1, map_channels, 1, norm)
        if weight_init == 'kaiming':
            kaiming_init_(self)

    def _encode(self, x):
        if x.dim() != 4 or x.size(-1) % 8 or x.size(-2) % 8:
            raise ValueError(f'UNetDiscriminatorFA expects (B, C, H, W) with H and W multiples of 8, '
                             f'got shape {tuple(x.shape)}.')
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        e3 = self.enc3(F.max_pool2d(e2, 2))
        e4 = self.enc4(F.max_pool2d(e3, 2))
        return e1, e2, e3, e4

    def _decode(self, e1, e2, e3, e4):
        x = e4
        for skip, stage in ((e3, self.dec3), (e2, self.dec2), (e1, self.dec1)):
            x = F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=True)
            x = stage(torch.cat([skip, x], dim=1))
        return self.to_map(x)

    def forward(self, x):
        h, w = x.shape[-2:]
        if (h, w) != (self.input_size, self.input_size):
            raise ValueError(f'UNetDiscriminatorFA was built for {self.input_size}×{self.input_size} inputs '
                             f'(network_d.input_size) but received {h}×{w}; set network_d.input_size to the '
                             f'training gt_size.')
        feats = self._encode(x)
        score = self.classifier(feats[-1].flatten(1))
        return score, self._decode(*feats)

    def score_map(self, x):
        """Score-map logits for an input of any size whose sides are multiples of 8 (no FC head)."""
        return self._decode(*self._encode(x))
