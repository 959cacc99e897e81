import torch
from basicsr.losses.loss_util import reduce_loss
from basicsr.utils.registry import LOSS_REGISTRY
from torch import nn as nn

_REDUCTIONS = ('none', 'mean', 'sum')


@LOSS_REGISTRY.register()
class AttentionL1Loss(nn.Module):
    """Fine-grained attention L1 loss of FASRGAN (paper Eq. 9).

    ``L_attention = mean((1 − M) ⊙ |pred − target|)`` where ``M ∈ [0, 1]`` is the
    discriminator's score map of ``pred``. ``M`` only weights the L1: it is detached,
    so no gradient ever reaches the discriminator (or whatever produced ``M``).

    Args:
        loss_weight (float): Multiplier (λ2 in the paper). Default: 1.0.
        reduction (str): ``'mean'`` (the paper: mean over batch, channels and pixels),
            ``'sum'`` or ``'none'``.
        map_is_logits (bool): ``True`` when ``score_map`` holds logits (the UNet
            discriminator's raw output, ``M = sigmoid(score_map)``), ``False`` when it already
            holds probabilities. Default: True.

    Shapes:
        pred, target: ``(B, C, H, W)``. score_map: ``(B, C, H, W)`` or ``(B, 1, H, W)``
        (one weight per pixel, broadcast over channels).
    """

    def __init__(self, loss_weight=1.0, reduction='mean', map_is_logits=True):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f'AttentionL1Loss: reduction must be one of {_REDUCTIONS}, got {reduction!r}.')
        self.loss_weight = loss_weight
        self.reduction = reduction
        self.map_is_logits = map_is_logits

    def forward(self, pred, target, score_map):
        if score_map.dim() != pred.dim() or score_map.shape[-2:] != pred.shape[-2:] or \
                score_map.size(1) not in (1, pred.size(1)):
            raise ValueError(f'AttentionL1Loss: score_map of shape {tuple(score_map.shape)} does not match '
                             f'pred of shape {tuple(pred.shape)} (expected (B, C or 1, H, W)).')
        score_map = score_map.detach()
        prob = torch.sigmoid(score_map) if self.map_is_logits else score_map
        weight = (1 - prob).expand_as(pred)
        return self.loss_weight * reduce_loss(weight * (pred - target).abs(), self.reduction)
