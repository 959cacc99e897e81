"""Whole-image adversarial terms on discriminator scores, relativistic or standard.

Both take BasicSR's ``GANLoss`` (``cri_gan``) for the per-element criterion, so ``gan_type``
and ``loss_weight`` (λ1) come from the option file's ``gan_opt`` as in BasicSR's models.

Relativistic average GAN (ESRGAN; FASRGAN paper Eqs. 1 and 8), with ``C`` the score logits::

    L_adv^D  = ½ [BCE(C(x_r) − E[C(x_f)], 1) + BCE(C(x_f) − E[C(x_r)], 0)]
    L_adv^G  = ½ [BCE(C(x_r) − E[C(x_f)], 0) + BCE(C(x_f) − E[C(x_r)], 1)] · λ1

The paper writes the sums; like ESRGAN's code, BasicSR's ``ESRGANModel`` and the authors'
release, we average the two sides, which is what λ1 = 5e-3 was tuned with. Unlike
BasicSR's ``ESRGANModel`` the discriminator's gradient flows through both sides (through
``E[C(x_f)]`` too), as the formula says.

Standard GAN (SRGAN): ``L^D = BCE(C(x_r), 1) + BCE(C(x_f), 0)``, ``L^G = BCE(C(x_f), 1) · λ1``.
"""


def generator_adversarial_loss(cri_gan, real_score, fake_score, relativistic=True):
    """Generator's whole-image adversarial loss (weighted by ``cri_gan.loss_weight``).

    ``real_score`` should carry no gradient to the generator's side (the caller computes it
    without grad); ``fake_score`` carries the generator's graph. Shapes: ``(B, 1)`` each.
    """
    if relativistic:
        return (cri_gan(real_score - fake_score.mean(), False, is_disc=False) +
                cri_gan(fake_score - real_score.mean(), True, is_disc=False)) / 2
    return cri_gan(fake_score, True, is_disc=False)


def discriminator_adversarial_loss(cri_gan, real_score, fake_score, relativistic=True):
    """Discriminator's whole-image loss as ``(l_real, l_fake)``; their sum is ``L_adv^D``."""
    if relativistic:
        return (cri_gan(real_score - fake_score.mean(), True, is_disc=True) / 2,
                cri_gan(fake_score - real_score.mean(), False, is_disc=True) / 2)
    return cri_gan(real_score, True, is_disc=True), cri_gan(fake_score, False, is_disc=True)
