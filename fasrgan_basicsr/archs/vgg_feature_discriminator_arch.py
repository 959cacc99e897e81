import torch
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn as nn
from torch.nn.utils import spectral_norm

from .weight_init import check_weight_init, kaiming_init_

NORM_TYPES = ('batch', 'none', 'spectral')


@ARCH_REGISTRY.register()
class VGGFeatureDiscriminator(nn.Module):
    """VGG-style discriminator head of Fs-SRGAN, reading the shared extractor's features (paper Sec. III-B).

    "To reduce information loss, we substitute the pooling layer ... for a Conv layer with a stride of 2
    ... At the tail ... a Conv layer to transform the feature map into a one-dimensional vector, then
    two fully connected layers to output the classification score." Stages of (3×3 conv, 4×4 stride-2
    conv) with ``num_feat × (1, 2, 4, 8, 8, …)`` channels halve the input until it is at most 4×4
    (5 stages for 128, 6 for 192: 3×3), as the authors' 128/192 discriminators; the last strided conv's
    map is flattened into the vector, then FC → 100, LeakyReLU 0.2, FC → 1 (the score logit).
    BatchNorm after every conv but the first (``norm='batch'``, the authors'), or none / spectral norm.

    Args:
        num_in_ch (int): 64 for shared features (Fs-SRGAN), 3 to read images.
        num_feat (int): Base channels. Default: 64.
        input_size (int): Input height = width (the training ``gt_size``): 128 or 192 in the paper; any
            size that halves down to 3 or 4.
        norm (str): ``'batch'``, ``'none'`` or ``'spectral'``.
        weight_init (str): ``'default'`` (PyTorch's) or ``'kaiming'`` (the authors' release: Kaiming normal,
            fan_in, scale 1, zero biases; :mod:`.weight_init`).

    Shapes: ``(B, num_in_ch, input_size, input_size)`` → ``(B, 1)``.
    """

    def __init__(self, num_in_ch=64, num_feat=64, input_size=192, norm='batch', weight_init='default'):
        super().__init__()
        check_weight_init('VGGFeatureDiscriminator', weight_init)
        if norm not in NORM_TYPES:
            raise ValueError(f'VGGFeatureDiscriminator: norm must be one of {NORM_TYPES}, got {norm!r}.')
        size, stages = input_size, 0
        while size > 4 and size % 2 == 0:
            size, stages = size // 2, stages + 1
        if size not in (3, 4) or stages == 0:
            raise ValueError(f'VGGFeatureDiscriminator: input_size must halve down to 3 or 4 (e.g. 128, 192), '
                             f'got {input_size}.')
        self.input_size = input_size
        wrap = spectral_norm if norm == 'spectral' else (lambda m: m)
        layers, in_ch = [], num_in_ch
        for i in range(stages):
            out_ch = num_feat * min(2**i, 8)
            for conv, first in ((nn.Conv2d(in_ch, out_ch, 3, 1, 1), i == 0), (nn.Conv2d(out_ch, out_ch, 4, 2, 1),
                                                                             False)):
                layers.append(wrap(conv))
                if norm == 'batch' and not first:
                    layers.append(nn.BatchNorm2d(out_ch))
                layers.append(nn.LeakyReLU(0.2, inplace=True))
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            wrap(nn.Linear(in_ch * size * size, 100)), nn.LeakyReLU(0.2, inplace=True), wrap(nn.Linear(100, 1)))
        if weight_init == 'kaiming':
            kaiming_init_(self)

    def forward(self, x):
        if x.dim() != 4:
            raise ValueError(f'VGGFeatureDiscriminator expects (B, C, H, W), got shape {tuple(x.shape)}.')
        if x.shape[-2:] != (self.input_size, self.input_size):
            raise ValueError(f'VGGFeatureDiscriminator was built for {self.input_size}×{self.input_size} inputs '
                             f'(network_d.input_size) but received {x.shape[-2]}×{x.shape[-1]}; set '
                             f'network_d.input_size to the training gt_size.')
        return self.classifier(torch.flatten(self.features(x), 1))
