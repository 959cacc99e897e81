from basicsr.losses.loss_util import reduce_loss
from basicsr.utils.registry import LOSS_REGISTRY
from torch import nn as nn
from torch.nn import functional as F

_GAN_TYPES = ('vanilla', 'lsgan', 'hinge')
_REDUCTIONS = ('none', 'mean', 'sum')


@LOSS_REGISTRY.register()
class ScoreMapGANLoss(nn.Module):
    """Pixel-wise GAN loss on a discriminator's score map (FASRGAN paper Eqs. 3 and 7).

    Every element of the map is one real/fake decision. With ``gan_type='vanilla'`` it is the
    binary cross-entropy of the map's logits against 1 (real) or 0 (fake), e.g.
    ``L_M^D = BCE(M_r, 1) + BCE(M_f, 0)`` for the discriminator and ``BCE(M_f, 1)`` for the
    generator. Same calling convention as BasicSR's ``GANLoss``: ``loss_weight`` scales the
    generator's loss only; the discriminator's loss is never weighted.

    Args:
        gan_type (str): ``'vanilla'`` (BCE on logits, the paper), ``'lsgan'`` (squared error to
            the label) or ``'hinge'`` (``relu(1 ∓ x)`` for the discriminator, ``−x`` for the
            generator).
        loss_weight (float): Generator-side multiplier (λ1 in the paper). Default: 1.0.
        reduction (str): ``'mean'`` over batch and pixels (the paper), ``'sum'`` or ``'none'``
            (the per-element loss map).
        real_label_val, fake_label_val (float): Targets for vanilla/lsgan. Default: 1.0, 0.0.

    Shapes:
        input: ``(B, C, H, W)`` map logits; output: scalar, or ``(B, C, H, W)`` for ``'none'``.
    """

    def __init__(self, gan_type='vanilla', loss_weight=1.0, reduction='mean', real_label_val=1.0,
                 fake_label_val=0.0):
        super().__init__()
        if gan_type not in _GAN_TYPES:
            raise ValueError(f'ScoreMapGANLoss: gan_type must be one of {_GAN_TYPES}, got {gan_type!r}.')
        if reduction not in _REDUCTIONS:
            raise ValueError(f'ScoreMapGANLoss: reduction must be one of {_REDUCTIONS}, got {reduction!r}.')
        self.gan_type = gan_type
        self.loss_weight = loss_weight
        self.reduction = reduction
        self.real_label_val = real_label_val
        self.fake_label_val = fake_label_val

    def elementwise(self, input, target_is_real, is_disc):
        """The unreduced, unweighted loss of each map element."""
        if self.gan_type == 'hinge':
            if is_disc:
                return F.relu(1 - input) if target_is_real else F.relu(1 + input)
            return -input
        target = input.new_full(input.shape, self.real_label_val if target_is_real else self.fake_label_val)
        if self.gan_type == 'vanilla':
            return F.binary_cross_entropy_with_logits(input, target, reduction='none')
        return (input - target)**2

    def forward(self, input, target_is_real, is_disc=False):
        loss = reduce_loss(self.elementwise(input, target_is_real, is_disc), self.reduction)
        return loss if is_disc else loss * self.loss_weight
