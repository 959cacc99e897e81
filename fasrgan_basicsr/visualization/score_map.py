"""The discriminator's score map ``M`` of an image of any size, and the numbers that describe it.

``M = sigmoid(D.score_map(x)) ∈ [0, 1]^{C×H×W}`` (paper Sec. III-A): 1 where the discriminator judges a pixel
real, 0 where it judges it fake; the attention loss weighs the generator's L1 by ``1 − M`` (Eq. 9).
``UNetDiscriminatorFA.score_map`` needs sides that are multiples of 8, so an image is padded at its bottom and
right and the map is cropped back to the image's own region (its top-left ``H×W``).
"""
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F


def has_score_map(net_d_class):
    """Whether a discriminator class computes a score map (has a ``score_map`` method, as UNetDiscriminatorFA)."""
    return callable(getattr(net_d_class, 'score_map', None))


@torch.no_grad()
def score_map_probabilities(net_d, img, extractor=None):
    """Score-map probabilities ``M`` ``(B, C, H, W)`` of an image batch ``img`` ``(B, 3, H, W)`` of any size.

    The batch is padded at the bottom and right to multiples of 8 (reflected; replicated when a side is
    too small to reflect) and the map cropped to the image's own region. A feature-reading discriminator
    (FA+Fs-SRGAN) gets ``extractor(padded image)`` ``(B, num_feat, H', W')`` instead of the image.
    The networks run in eval mode (BatchNorm's running statistics) and are left in the mode they were in.
    """
    h, w = img.shape[-2:]
    pad_h, pad_w = -h % 8, -w % 8
    mode = 'reflect' if pad_h < h and pad_w < w else 'replicate'
    padded = F.pad(img, (0, pad_w, 0, pad_h), mode=mode)
    modules = [m for m in (net_d, extractor) if m is not None]
    was_training = [m.training for m in modules]
    try:
        for module in modules:
            module.eval()
        features = padded if extractor is None else extractor(padded)
        return torch.sigmoid(net_d.score_map(features))[..., :h, :w]
    finally:
        for module, mode_ in zip(modules, was_training):
            module.train(mode_)


def channel_mean(prob):
    """The map shown to people: the mean over channels of ``prob`` ``(C, H, W)`` → float64 array ``(H, W)``."""
    return prob.float().mean(0).cpu().numpy().astype(np.float64)


@dataclass(frozen=True)
class MapRange:
    """Minimum, maximum and mean of a displayed score map (the numbers its title and colour bars show)."""
    low: float
    high: float
    mean: float

    @classmethod
    def of(cls, values):
        return cls(float(values.min()), float(values.max()), float(values.mean()))

    def describe(self):
        return f'min {self.low:.3f}  max {self.high:.3f}  mean {self.mean:.3f}'
