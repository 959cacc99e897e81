from os import path as osp

import torch
from basicsr.losses import build_loss
from basicsr.utils import get_root_logger, tensor2img

from fasrgan_basicsr.utils.image_files import write_image_file
from fasrgan_basicsr.visualization.score_map import channel_mean, score_map_probabilities
from fasrgan_basicsr.visualization.score_map_panel import score_map_figures

from .gan_step import GANStepMixin


class FineGrainedAttentionMixin(GANStepMixin):
    """Fine-grained attention (FASRGAN, paper Sec. III-A) for any BasicSR GAN model.

    Needs a dual-output discriminator (e.g. ``UNetDiscriminatorFA``) returning the score and
    the score-map logits. Adds, from the option file's ``train`` section:

    - ``map_gan_opt`` (e.g. ``ScoreMapGANLoss``, ``loss_weight`` λ1): the pixel-wise adversarial
      terms, in the same form as the model's whole-image terms (``train.relativistic``):

      - relativistic hosts (FASRGAN, FA+Fs-SRGAN): discriminator ``L_M^D = ½ [BCE(M_r, 1) + BCE(M_f, 0)]``
        (Eq. 3), generator ``L_fine^G = ½ [BCE(M_r, 0) + BCE(M_f, 1)] · λ1``, the symmetric form of Eq. 3
        (Eq. 7); both halved like the relativistic whole-image terms (ESRGAN's averaging of two-sided
        terms, as the authors' release does for both);
      - standard GAN hosts (SRGAN_FA): ``L_M^D = BCE(M_r, 1) + BCE(M_f, 0)`` (Eq. 3 as written) and
        ``L_fine^G = BCE(M_f, 1) · λ1``, exactly as SRGAN's whole-image terms ``BCE(C_r, 1) + BCE(C_f, 0)`` and
        ``BCE(C_f, 1)``: not halved, and the generator's term only on its own output.

      ``M_r`` is a constant for the generator unless the discriminator reads a shared extractor.
    - ``attention_opt`` (``AttentionL1Loss``, ``loss_weight`` λ2):
      ``L_attention = mean((1 − M_f) ⊙ |G(I_LR) − I_HR|)`` with ``M_f`` detached (Eq. 9); ``I_HR`` is the
      pixel loss's target (:meth:`loss_targets`), the attention term being a weighted form of that L1.

    Either may be absent: without both it is the ``woFA`` ablation (the UNet discriminator's
    whole-image score only). The generator's total is then paper Eq. 10:
    ``L_percep + λ1 (L_entire^G + L_fine^G) + λ2 L_attention + λ3 L_1``.

    Validation: with ``val.save_score_map: true``, each validation image's score-map panel
    (HR | SR | M on the absolute scale | M stretched to its min..max, titled with the run, the iteration
    and the map's range; see :mod:`fasrgan_basicsr.visualization.score_map_panel`) is written to
    ``visualization/<image>/<image>_<iter>_score_map.png`` and, when TensorBoard logging is on, added as the
    image ``score_map/<dataset>/<image>``. The discriminator runs in eval mode on the validation output
    clamped to [0, 1] (a feature-reading one on ``net_d_extractor``'s features), outside the training step,
    exactly as ``visualize_score_map.py`` scores a checkpoint's SR images.

    Usage: ``class MyFAModel(FineGrainedAttentionMixin, MyGANModel)`` (mixin first).
    """

    TRAIN_OPTIONS = ('map_gan_opt', 'attention_opt')
    DISCRIMINATOR_OUTPUTS = ('score', 'score_map')

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

    def generator_loss_terms(self, output, gt, real, fake, **targets):
        terms = super().generator_loss_terms(output, gt, real, fake, **targets)
        if self.cri_map_gan and self.relativistic:
            terms['l_g_fine'] = (self.cri_map_gan(self._require_map(real), False, is_disc=False) +
                                 self.cri_map_gan(self._require_map(fake), True, is_disc=False)) / 2
        elif self.cri_map_gan:
            terms['l_g_fine'] = self.cri_map_gan(self._require_map(fake), True, is_disc=False)
        if self.cri_attention:
            terms['l_g_attention'] = self.cri_attention(output, gt, self._require_map(fake))
        return terms

    def discriminator_loss_terms(self, real, fake):
        terms = super().discriminator_loss_terms(real, fake)
        if self.cri_map_gan:
            sides = 2 if self.relativistic else 1  # halved as the whole-image terms are (class docstring)
            terms['l_d_map_real'] = self.cri_map_gan(self._require_map(real), True, is_disc=True) / sides
            terms['l_d_map_fake'] = self.cri_map_gan(self._require_map(fake), False, is_disc=True) / sides
        return terms

    def discriminator_output_stats(self, real, fake):
        stats = super().discriminator_output_stats(real, fake)
        if real.score_map is not None:
            stats['out_d_map_real'] = torch.sigmoid(real.score_map.detach()).mean()
            stats['out_d_map_fake'] = torch.sigmoid(fake.score_map.detach()).mean()
        return stats


    # ------------------------------------------------------------- validation: score-map panels
    def feed_data(self, data):
        super().feed_data(data)
        self._lq_paths = data.get('lq_path')

    def nondist_validation(self, dataloader, current_iter, tb_logger, save_img):
        """BasicSR's validation; with ``val.save_score_map`` each image's panel is saved by :meth:`get_current_visuals`,
        which BasicSR calls once per image while the output and the ground truth are still held."""
        self._score_map_target = None
        if self.opt['val'].get('save_score_map') and hasattr(self, 'net_d'):
            self._score_map_target = (dataloader.dataset.opt['name'], current_iter, tb_logger)
        elif self.opt['val'].get('save_score_map'):
            get_root_logger().warning('val.save_score_map: no discriminator outside training; no score maps saved.')
        try:
            super().nondist_validation(dataloader, current_iter, tb_logger, save_img)
        finally:
            self._score_map_target = None

    def get_current_visuals(self):
        visuals = super().get_current_visuals()
        if getattr(self, '_score_map_target', None) is not None:
            self.save_score_map_panel(visuals, *self._score_map_target)
        return visuals

    def save_score_map_panel(self, visuals, dataset_name, current_iter, tb_logger=None):
        """Write the score-map panel of the current validation image (``visuals``: :meth:`get_current_visuals`)."""
        img_name = osp.splitext(osp.basename(self._lq_paths[0]))[0]
        sr = self.output[:1].clamp(0, 1)  # the SR image shown (and scored by visualize_score_map.py)
        prob = score_map_probabilities(self.net_d, sr, getattr(self, 'net_d_extractor', None))[0]
        hr = tensor2img(visuals['gt']) if 'gt' in visuals else None
        title = f'run {self.opt["name"]} | iter {current_iter} | {img_name}'
        panel = score_map_figures(channel_mean(prob), title, sr=tensor2img(visuals['result']), hr=hr,
                                  normalize=True)['panel']
        folder = osp.join(self.opt['path']['visualization'], img_name)
        write_image_file(osp.join(folder, f'{img_name}_{current_iter}_score_map.png'), panel.image)
        if tb_logger is not None:
            tb_logger.add_image(f'score_map/{dataset_name}/{img_name}', panel.image[..., ::-1], current_iter,
                                dataformats='HWC')
        return panel
