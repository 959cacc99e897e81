from collections import OrderedDict
from typing import NamedTuple, Optional
from urllib.error import URLError

import torch
from basicsr.models.esrgan_model import ESRGANModel
from torch.nn.parallel import DistributedDataParallel

from fasrgan_basicsr.losses.adversarial import discriminator_adversarial_loss, generator_adversarial_loss


class DiscriminatorOutput(NamedTuple):
    """What a discriminator says about a batch: score logits ``(B, 1)`` and, for a
    dual-output discriminator, score-map logits ``(B, C, H, W)`` (else ``None``)."""
    score: torch.Tensor
    score_map: Optional[torch.Tensor] = None


class GANStepMixin:
    """One GAN iteration for BasicSR's SRGAN-family models, generic over the discriminator.

    Put it before a BasicSR GAN model class (``SRGANModel``, ``ESRGANModel`` or a subclass):
    the host builds networks, losses (``pixel_opt``, ``perceptual_opt``, ``gan_opt``),
    optimizers, schedulers, EMA, saving and validation; this mixin replaces only
    ``optimize_parameters`` with a step built from small overridable pieces:

    - :meth:`build_discriminator` — the module mapping an image batch to the discriminator's
      outputs (``network_d`` itself, or a shared extractor followed by it);
    - :meth:`discriminate` — image batch → :class:`DiscriminatorOutput`;
    - :meth:`discriminator_parameters` — what is frozen during the generator's update;
    - :meth:`generator_loss_terms` / :meth:`discriminator_loss_terms` — ordered dicts of
      weighted loss tensors; mixins add terms by extending them through ``super()``.

    The step is the straightforward one: the generator's update runs the discriminator on
    the real batch (without grad: its outputs are constants for the generator) and on the
    generated batch; the discriminator's update runs it again on both, the generated batch
    detached. ``train.relativistic`` selects the relativistic-average form (default: on for an
    ``ESRGANModel`` host, off for a plain ``SRGANModel`` host).

    Distributed training: ``self.net_d`` is kept unwrapped (checkpoints, optimizer, freezing);
    the discriminator's update runs :meth:`build_discriminator`'s module inside its own
    DistributedDataParallel (``find_unused_parameters`` for heads the loss does not use,
    ``broadcast_buffers=False`` so BatchNorm's running statistics are never overwritten between
    two forwards and one backward), so every parameter it trains — a shared extractor
    included — has its gradient averaged over ranks. The generator's update runs the bare module:
    it trains no discriminator parameter, and a shared extractor's gradient from that path is
    averaged by the generator's own wrapper. Batch statistics (BatchNorm, the relativistic means)
    are per rank, as in BasicSR's distributed ESRGAN.
    """

    # the option file's train keys this model family reads (BasicSR's SRGAN keys and ours);
    # the option check reports any other key as unknown
    TRAIN_OPTIONS = ('ema_decay', 'optim_g', 'optim_d', 'scheduler', 'total_iter', 'warmup_iter', 'pixel_opt',
                     'ldl_opt', 'perceptual_opt', 'gan_opt', 'net_d_iters', 'net_d_init_iters', 'relativistic')

    def init_training_settings(self):
        try:
            super().init_training_settings()
        except URLError as err:
            raise RuntimeError(
                'Could not fetch the VGG19 weights needed by train.perceptual_opt (no network?). Put '
                'vgg19-dcbb9e9d.pth in experiments/pretrained_models/ or in '
                f'{torch.hub.get_dir()}/checkpoints/, or remove perceptual_opt.') from err
        self.relativistic = self.opt['train'].get('relativistic', isinstance(self, ESRGANModel))
        self.net_d = self.get_bare_model(self.net_d)
        self.discriminator = self.build_discriminator()
        self.discriminator_for_update = self.discriminator
        if self.opt['dist']:
            device_ids = [torch.cuda.current_device()] if self.device.type == 'cuda' else None
            self.discriminator_for_update = DistributedDataParallel(
                self.discriminator, device_ids=device_ids, find_unused_parameters=True, broadcast_buffers=False)

    # ----------------------------------------------------------------- pieces
    def build_discriminator(self):
        """The module mapping an image batch to the discriminator's outputs: here ``network_d`` itself."""
        return self.net_d

    def discriminate(self, img, for_update=False):
        """Run the discriminator on an image batch ``(B, 3, H, W)``; ``for_update`` in its own update."""
        out = (self.discriminator_for_update if for_update else self.discriminator)(img)
        return DiscriminatorOutput(*out) if isinstance(out, (tuple, list)) else DiscriminatorOutput(out)

    def discriminator_parameters(self):
        """Parameters that belong to the discriminator alone (frozen for the generator's update)."""
        return list(self.net_d.parameters())

    def set_discriminator_trainable(self, flag):
        for p in self.discriminator_parameters():
            p.requires_grad = flag

    def generator_loss_terms(self, output, gt, real, fake):
        """Weighted generator losses: pixel, perceptual (+style), whole-image adversarial.

        Args:
            output, gt: generated and ground-truth batches ``(B, 3, H, W)``.
            real, fake: :class:`DiscriminatorOutput` of ``gt`` (no grad) and ``output``.
        """
        terms = OrderedDict()
        if self.cri_pix:
            terms['l_g_pix'] = self.cri_pix(output, gt)
        if self.cri_perceptual:
            l_percep, l_style = self.cri_perceptual(output, gt)
            if l_percep is not None:
                terms['l_g_percep'] = l_percep
            if l_style is not None:
                terms['l_g_style'] = l_style
        terms['l_g_gan'] = generator_adversarial_loss(self.cri_gan, real.score, fake.score, self.relativistic)
        return terms

    def discriminator_loss_terms(self, real, fake):
        """Discriminator losses from its outputs on the real and the (detached) generated batch."""
        terms = OrderedDict()
        terms['l_d_real'], terms['l_d_fake'] = discriminator_adversarial_loss(self.cri_gan, real.score, fake.score,
                                                                              self.relativistic)
        return terms

    def discriminator_output_stats(self, real, fake):
        """Logged means of the discriminator's outputs."""
        return OrderedDict(out_d_real=real.score.detach().mean(), out_d_fake=fake.score.detach().mean())

    def generator_updates_at(self, current_iter):
        return current_iter % self.net_d_iters == 0 and current_iter > self.net_d_init_iters

    # ------------------------------------------------------------------- step
    def optimize_generator(self, current_iter):
        """Forward the generator; on generator iterations, update it. Returns its loss terms."""
        self.set_discriminator_trainable(False)
        self.optimizer_g.zero_grad(set_to_none=True)
        self.output = self.net_g(self.lq)
        if not self.generator_updates_at(current_iter):
            return OrderedDict()
        with torch.no_grad():
            real = self.discriminate(self.gt)
        fake = self.discriminate(self.output)
        terms = self.generator_loss_terms(self.output, self.gt, real, fake)
        sum(terms.values()).backward()
        self.optimizer_g.step()
        return terms

    def optimize_discriminator(self):
        """Update the discriminator on ``self.gt`` and the detached ``self.output``."""
        self.set_discriminator_trainable(True)
        self.optimizer_d.zero_grad(set_to_none=True)
        real = self.discriminate(self.gt, for_update=True)
        fake = self.discriminate(self.output.detach(), for_update=True)
        terms = self.discriminator_loss_terms(real, fake)
        sum(terms.values()).backward()
        self.optimizer_d.step()
        terms.update(self.discriminator_output_stats(real, fake))
        return terms

    def optimize_parameters(self, current_iter):
        log = self.optimize_generator(current_iter)
        log.update(self.optimize_discriminator())
        self.log_dict = self.reduce_loss_dict(log)
        if self.ema_decay > 0:
            self.model_ema(decay=self.ema_decay)
