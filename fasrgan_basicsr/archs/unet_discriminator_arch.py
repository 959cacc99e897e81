import torch
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn as nn
from torch.nn import functional as F
from torch.nn.utils import spectral_norm

from fasrgan_basicsr.utils.errors import UserError

from .weight_init import check_weight_init, kaiming_init_

NORM_TYPES = ('batch', 'none', 'spectral')
#: the whole-image score heads: the paper's fully connected head, and the size-independent pooled head
SCORE_HEADS = ('fc', 'pooled')
#: default of ``input_size``: the paper's training patch (the FC head is built for it)
PAPER_INPUT_SIZE = 128


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


class PooledScoreHead(nn.Module):
    """A whole-image score head whose size does not depend on the input size.

    On the encoder's deepest feature ``e4`` (``4·num_feat × H/8 × W/8``):
    two 3×3 convs with stride 2 (``4·num_feat`` channels, LeakyReLU 0.2), global average pooling over the
    positions, then the paper's two fully connected layers on the pooled ``4·num_feat`` vector
    (→ 1024, LeakyReLU 0.2, → 1):
    ``C(x) = FC_2(σ(FC_1(mean_{i,j} σ(conv_2(σ(conv_1(e4))))[:, :, i, j])))`` with σ = LeakyReLU(0.2).

    Why this design:

    - *size*: every weight is a conv kernel or acts on the pooled vector, so the parameter count is
      ``2·(9·(4f)² + 4f) + (4f·1024 + 1024) + 1025`` whatever the input (1 444 353 at ``num_feat`` 64, against the
      FC head's 67.1 M at 128×128 and 268.4 M at 256×256), and any H, W that are multiples of 8 work
      (the stride-2 convs pad by 1, so even a 1×1 deepest feature gives a 1×1 map);
    - *what one score sees*: a cell of ``e4`` sees 68×68 input pixels; the two stride-2 convs widen that to
      116×116, so the score averages judgements of regions about half of a 256 patch, not only the encoder's
      small windows (the FC head sees the whole patch at once, at the price of weights per position);
    - *average, not a fixed grid*: Real-ESRGAN's random crops have no canonical layout, so tying weights to
      positions (as the FC head does, or adaptive pooling to a fixed grid, whose cells would also change size
      with the input) buys nothing; averaging lets every region contribute to the logit and to its gradient;
    - *no BatchNorm*: as the paper's FC head; ``norm='spectral'`` puts spectral norm on both convs and both
      linear layers, as on the rest of the network.

    Shapes: ``(B, 4·num_feat, h, w)`` → ``(B, 1)``.
    """

    def __init__(self, num_ch, norm, hidden=1024):
        super().__init__()
        wrap = spectral_norm if norm == 'spectral' else (lambda m: m)
        self.convs = nn.Sequential(
            wrap(nn.Conv2d(num_ch, num_ch, 3, stride=2, padding=1)), nn.LeakyReLU(0.2, inplace=True),
            wrap(nn.Conv2d(num_ch, num_ch, 3, stride=2, padding=1)), nn.LeakyReLU(0.2, inplace=True))
        self.fc = nn.Sequential(wrap(nn.Linear(num_ch, hidden)), nn.LeakyReLU(0.2, inplace=True),
                                wrap(nn.Linear(hidden, 1)))

    def forward(self, e4):
        return self.fc(self.convs(e4).mean(dim=(2, 3)))


@ARCH_REGISTRY.register()
class UNetDiscriminatorFA(nn.Module):
    """UNet-like discriminator of FASRGAN with a whole-image score and a per-pixel score map.

    Encoder (paper Sec. III-A): double convs with ``num_feat × (1, 2, 4, 4)`` channels and a 2×2
    max-pool before each of the last three stages, so the deepest feature has
    ``4·num_feat × H/8 × W/8`` elements. The score head turns it into the score logit ``C(x)``:

    - ``score_head='fc'`` (default, the paper's): two fully connected layers (→1024, LeakyReLU 0.2, →1) on the
      flattened feature, so the network is built for one input size, ``input_size`` (its first layer holds
      ``4·num_feat·(input_size/8)²·1024`` weights: 67.1 M at 128, 268.4 M at 256);
    - ``score_head='pooled'``: :class:`PooledScoreHead` (two stride-2 convs, global average pooling, the same two
      fully connected layers on the pooled vector), 1.44 M parameters at ``num_feat`` 64 whatever the input,
      which may have any sides that are multiples of 8 (``input_size`` is not used).

    Decoder: three ×2 bilinear upsamplings, each concatenated with the encoder feature of the
    same size and followed by a double conv (``2·num_feat``, ``num_feat``, ``num_feat``), then a
    1×1 conv to ``map_channels``: the score-map logits whose sigmoid is ``M ∈ [0, 1]^{H×W×C}``.

    Args:
        num_in_ch (int): Input channels: 3 for images, 64 when it reads shared features (FA+Fs).
        num_feat (int): Base channel number. Default: 64 (the paper).
        map_channels (int): Channels of the score map; the image's channel count C. Default: 3.
        input_size (int | None): Input height = width the fully connected head is built for (the
            training ``gt_size``, 128 in the paper). Must be a multiple of 8. Not used (may be None) with
            ``score_head='pooled'``.
        norm (str): ``'batch'`` (the authors), ``'none'`` or ``'spectral'`` (spectral norm on every
            conv and linear layer, no BatchNorm).
        bn_eps_as_channels (bool): The first BatchNorm of every double conv gets eps = its channel count
            (64, 128 or 256) instead of 1e-5: the authors' release constructs it as
            ``nn.BatchNorm2d(out_ch, out_ch)`` (``models/modules/architecture.py``, ``double_conv``), whose
            second positional argument is eps. Default: False (the paper's BatchNorm).
        weight_init (str): ``'default'`` (PyTorch's) or ``'kaiming'`` (the authors' release: Kaiming normal,
            fan_in, scale 1, zero biases; :mod:`.weight_init`).
        score_head (str): ``'fc'`` (the paper's, default) or ``'pooled'`` (size-independent; see above).

    Shapes:
        forward: ``(B, num_in_ch, input_size, input_size)`` (``'fc'``) or ``(B, num_in_ch, H, W)`` with H, W
        multiples of 8 (``'pooled'``) → ``(score (B, 1), map_logits (B, map_channels, H, W))``.
        score_map: ``(B, num_in_ch, H, W)`` with H, W multiples of 8 → ``(B, map_channels, H, W)``.
    """

    def __init__(self, num_in_ch=3, num_feat=64, map_channels=3, input_size=PAPER_INPUT_SIZE, norm='batch',
                 bn_eps_as_channels=False, weight_init='default', score_head='fc'):
        super().__init__()
        check_weight_init('UNetDiscriminatorFA', weight_init)
        if norm not in NORM_TYPES:
            raise ValueError(f'UNetDiscriminatorFA: norm must be one of {NORM_TYPES}, got {norm!r}.')
        if score_head not in SCORE_HEADS:
            raise UserError(f'network_d:score_head: UNetDiscriminatorFA\'s score_head must be one of {SCORE_HEADS}, '
                            f'got {score_head!r}.')
        if score_head == 'fc' and (not isinstance(input_size, int) or input_size % 8 != 0 or input_size <= 0):
            raise ValueError(f'UNetDiscriminatorFA: input_size must be a positive multiple of 8 (three 2×2 '
                             f'poolings), got {input_size}.')
        self.score_head = score_head
        self.input_size = input_size if score_head == 'fc' else None
        f1, f2, f4 = num_feat, num_feat * 2, num_feat * 4

        def stage(in_ch, out_ch):
            return DoubleConv(in_ch, out_ch, norm, first_bn_eps=float(out_ch) if bn_eps_as_channels else 1e-5)

        # encoder
        self.enc1 = stage(num_in_ch, f1)
        self.enc2 = stage(f1, f2)
        self.enc3 = stage(f2, f4)
        self.enc4 = stage(f4, f4)
        # whole-image score head
        if score_head == 'fc':
            linear = spectral_norm if norm == 'spectral' else (lambda m: m)
            self.classifier = nn.Sequential(
                linear(nn.Linear(f4 * (input_size // 8)**2, 1024)), nn.LeakyReLU(0.2, inplace=True),
                linear(nn.Linear(1024, 1)))
        else:
            self.classifier = PooledScoreHead(f4, norm)
        # decoder
        self.dec3 = stage(f4 + f4, f2)
        self.dec2 = stage(f2 + f2, f1)
        self.dec1 = stage(f1 + f1, f1)
        self.to_map = _conv(f1, map_channels, 1, norm)
        if weight_init == 'kaiming':
            kaiming_init_(self)

    @classmethod
    def fixed_input_size(cls, **network_d_options):
        """The input side (height = width) the network built from ``network_d_options`` is made for, or None
        when any input whose sides are multiples of 8 works.

        ``network_d_options`` are the option file's ``network_d`` keys (``type`` and unknown keys are ignored):
        ``input_size`` (default 128) with the FC head, None with ``score_head: pooled``; ValueError (its message
        what is expected) when the FC head has no valid size. What the option check asks instead of reading
        ``input_size`` itself.
        """
        if network_d_options.get('score_head', 'fc') != 'fc':  # pooled; an unknown head is named by its own check
            return None
        size = network_d_options.get('input_size', PAPER_INPUT_SIZE)
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0 or size % 8:
            raise ValueError(f'the fully connected score head (score_head: fc) is built for one input size: a '
                             f'positive multiple of 8 equal to the patch size, got {size!r}')
        return size

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
        if self.input_size is not None and (h, w) != (self.input_size, self.input_size):
            raise ValueError(f'UNetDiscriminatorFA was built for {self.input_size}×{self.input_size} inputs '
                             f'(network_d.input_size) but received {h}×{w}; set network_d.input_size to the '
                             f'training gt_size.')
        feats = self._encode(x)
        score = self.classifier(feats[-1].flatten(1) if self.score_head == 'fc' else feats[-1])
        return score, self._decode(*feats)

    def score_map(self, x):
        """Score-map logits for an input of any size whose sides are multiples of 8 (no FC head)."""
        return self._decode(*self._encode(x))
