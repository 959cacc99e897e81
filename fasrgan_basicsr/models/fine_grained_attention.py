import torch
from basicsr.losses import build_loss

from .gan_step import GANStepMixin


class FineGrainedAttentionMixin(GANStepMixin):
    """Fine-grained attention (FASRGAN, paper Sec. III-A) for any BasicSR GAN model.

    Needs a dual-output discriminator (e.g. ``UNetDiscriminatorFA``) returning the score and
    the score-map logits. Adds, from the option file's ``train`` section:

    - ``map_gan_opt`` (e.g. ``ScoreMapGANLoss``, ``loss_weight`` λ1): the pixel-wise adversarial
      terms. Discriminator: ``L_M^D = ½ [BCE(M_r, 1) + BCE(M_f, 0)]`` (Eq. 3). Generator:
      ``L_fine^G = ½ [BCE(M_r, 0) + BCE(M_f, 1)] · λ1``, the symmetric form of Eq. 3 (Eq. 7),
      with ``M_r`` a constant for the generator, so its gradient is that of ``½ BCE(M_f, 1)``.
      The halves follow the authors' release and ESRGAN's averaging of two-sided terms.
    - ``attention_opt`` (``AttentionL1Loss``, ``loss_weight`` λ2):
      ``L_attention = mean((1 − M_f) ⊙ |G(I_LR) − I_HR|)`` with ``M_f`` detached (Eq. 9).

    Either may be absent: without both it is the ``woFA`` ablation (the UNet discriminator's
    whole-image score only). The generator's total is then paper Eq. 10:
    ``L_percep + λ1 (L_entire^G + L_fine^G) + λ2 L_attention + λ3 L_1``.

    Usage: ``class MyFAModel(FineGrainedAttentionMixin, MyGANModel)`` (mixin first).
    """

    TRAIN_OPTIONS = ('map_gan_opt', 'attention_opt')

    def init_training_settings(self):
        super().init_training_settings()
        train_opt = self.opt['train']
        self.cri_map_gan = build_loss(train_opt['map_gan_opt']).to(self.device) if train_opt.get(
            'map_gan_opt') else None
        self.cri_attention = build_loss(train_opt['attention_opt']).to(self.device) if train_opt.get(
            'attention_opt') else None

    def _require_map(self, out):
        if out.score_map is None:
            raise RuntimeError(f'{type(self).__name__}: map_gan_opt/attention_opt need a discriminator that returns '
                               f'(score, score_map), such as UNetDiscriminatorFA; network_d returned one tensor.')
        return out.score_map

    def generator_loss_terms(self, output, gt, real, fake):
        terms = super().generator_loss_terms(output, gt, real, fake)
        if self.cri_map_gan:
            terms['l_g_fine'] = (self.cri_map_gan(self._require_map(real), False, is_disc=False) +
                                 self.cri_map_gan(self._require_map(fake), True, is_disc=False)) / 2
        if self.cri_attention:
            terms['l_g_attention'] = self.cri_attention(output, gt, self._require_map(fake))
        return terms

    def discriminator_loss_terms(self, real, fake):
        terms = super().discriminator_loss_terms(real, fake)
        if self.cri_map_gan:
            terms['l_d_map_real'] = self.cri_map_gan(self._require_map(real), True, is_disc=True) / 2
            terms['l_d_map_fake'] = self.cri_map_gan(self._require_map(fake), False, is_disc=True) / 2
        return terms

    def discriminator_output_stats(self, real, fake):
        stats = super().discriminator_output_stats(real, fake)
        if real.score_map is not None:
            stats['out_d_map_real'] = torch.sigmoid(real.score_map.detach()).mean()
            stats['out_d_map_fake'] = torch.sigmoid(fake.score_map.detach()).mean()
        return stats

