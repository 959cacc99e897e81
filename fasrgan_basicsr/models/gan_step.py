from collections import OrderedDict
from contextlib import contextmanager, nullcontext
from typing import NamedTuple, Optional

import torch
from basicsr.models.esrgan_model import ESRGANModel
from torch.nn.parallel import DistributedDataParallel

from fasrgan_basicsr.losses.adversarial import discriminator_adversarial_loss, generator_adversarial_loss
from fasrgan_basicsr.utils import distributed
from fasrgan_basicsr.utils.divergence import DivergenceError, divergence_message

PRECISIONS = {None: None, 'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}
#: ``train.batchnorm_updates``: how the discriminator's BatchNorm running statistics are updated in one iteration
BATCHNORM_UPDATES = (None, 'step', 'release')


def release_batchnorm_momenta(momentum):
    """``(a, b)``: momenta for a real-then-fake pair of BatchNorm updates that leave the running statistics where the
    release's four updates of a generator iteration leave them (fake, real in its G step; real, fake in its D step).

    With momentum ``m`` the release's four updates give ``x' = (1-m)^4 x + w_r r + w_f f`` with
    ``w_f = m(1-m)^3 + m`` and ``w_r = m(1-m)^2 + m(1-m)`` (``r``, ``f``: the batch statistics of the real and the
    generated batch, the same in its two forwards of each); two updates with ``a`` then ``b`` give
    ``(1-a)(1-b) x + a(1-b) r + b f``, hence ``b = w_f`` and ``a = w_r / (1 - b)``.
    """
    m = momentum
    w_fake = m * (1 - m) ** 3 + m
    w_real = m * (1 - m) ** 2 + m * (1 - m)
    return w_real / (1 - w_fake), w_fake


class DiscriminatorOutput(NamedTuple):
    """What a discriminator says about a batch: score logits ``(B, 1)`` and, for a
    dual-output discriminator, score-map logits ``(B, C, H, W)`` (else ``None``)."""
    score: torch.Tensor
    score_map: Optional[torch.Tensor] = None

    def detach(self):
        return DiscriminatorOutput(*(None if t is None else t.detach() for t in self))


class GANStepMixin:
    """One GAN iteration for BasicSR's SRGAN-family models, generic over the discriminator.

    Put it before a BasicSR GAN model class (``SRGANModel``, ``ESRGANModel`` or a subclass):
    the host builds networks, losses (``pixel_opt``, ``perceptual_opt``, ``gan_opt``),
    optimizers, schedulers, EMA, saving and validation; this mixin replaces
    ``optimize_parameters`` with a step built from small overridable pieces:

    - :meth:`build_discriminator` — the module mapping an image batch to the discriminator's
      outputs (``network_d`` itself, or a shared extractor followed by it);
    - :meth:`discriminate` — image batch → :class:`DiscriminatorOutput`;
    - :meth:`discriminator_parameters` — what is frozen during the generator's update;
    - :meth:`generator_loss_terms` / :meth:`discriminator_loss_terms` — ordered dicts of
      weighted loss tensors; mixins add terms by extending them through ``super()``;
    - :meth:`loss_targets` — the pixel loss's target, the perceptual loss's target and the batch the
      discriminator sees as real (``self.gt`` for all three; Real-ESRGAN picks USM-sharpened ones).

    Two ways to compute one iteration, with the same mathematics:

    - the straightforward one (:meth:`optimize_generator` then :meth:`optimize_discriminator`):
      the generator's update runs the discriminator on the real batch (without grad: constants
      for the generator) and on the generated batch; the discriminator's update runs it again on
      both, the generated batch detached — four discriminator forwards;
    - the reused one (:meth:`optimize_reusing_discriminator_outputs`, ``train.reuse_discriminator_outputs``,
      default on): the discriminator runs once on each batch and both updates back-propagate
      from those outputs, each restricted to its own parameters (``backward(inputs=...)``). It
      is exact only while the generator's update leaves the discriminator unchanged, so models
      whose discriminator shares the generator's extractor keep the straightforward step
      (:meth:`discriminator_unchanged_by_generator_update`).
      Gradients equal the straightforward ones up to float round-off; BatchNorm running
      statistics are updated by two forwards instead of four, so they differ.

    ``train.batchnorm_updates`` (the discriminator's BatchNorm running statistics, which only its eval-mode
    outputs use — score maps drawn at validation and by the viewer; training itself normalises with batch
    statistics): ``step`` (default, ``~`` too) updates them once per forward the step makes (reused: real then
    generated; straightforward: real, generated, real, generated); ``release`` leaves them as the authors'
    release does on generator iterations, four updates: generated then real in its generator step, real then
    generated in its discriminator step. The straightforward step makes its generator-step forwards in that order;
    the reused step makes its two forwards with the momenta of :func:`release_batchnorm_momenta` (exact: both
    batches' statistics are the same in the release's two forwards of each) and counts four batches. Gradients
    and weights are the same either way.

    Other ``train`` options: ``relativistic`` (default: on for an ``ESRGANModel`` host, off for a
    plain ``SRGANModel`` host), ``mixed_precision`` (``bf16`` | ``fp16`` autocast, fp16 with a
    gradient scaler), ``channels_last`` and ``compile`` (``torch.compile`` the training forwards;
    ``true`` for inductor or a backend name).

    Losses are kept on the device: no host–device synchronisation happens in the step. They are
    read at logging intervals (:meth:`get_current_log`), where a non-finite value, whose first
    iteration is tracked on the device, stops training (also checked before every save).

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
                     'ldl_opt', 'perceptual_opt', 'gan_opt', 'net_d_iters', 'net_d_init_iters', 'relativistic',
                     'reuse_discriminator_outputs', 'batchnorm_updates', 'mixed_precision', 'channels_last',
                     'compile')

    #: what this step reads of the discriminator's outputs (the option check asks: a score-map discriminator needs a
    #: model that reads ``score_map``)
    DISCRIMINATOR_OUTPUTS = ('score',)

    #: ``train`` keys the host model reads but this step does not use: refused by the option check
    UNSUPPORTED_TRAIN_OPTIONS = {'ldl_opt': "the LDL artifact loss of BasicSR's own RealESRGANModel step"}

    def init_training_settings(self):
        super().init_training_settings()
        train_opt = self.opt['train']
        if getattr(self, 'cri_ldl', None):
            raise ValueError(f'train:ldl_opt: {type(self).__name__} does not use it '
                             f'({self.UNSUPPORTED_TRAIN_OPTIONS["ldl_opt"]}); remove it.')
        self.relativistic = train_opt.get('relativistic', isinstance(self, ESRGANModel))
        self.net_d = self.get_bare_model(self.net_d)
        self.discriminator = self.build_discriminator()
        self._setup_speed_options(train_opt)
        self.reuse_discriminator_outputs = (train_opt.get('reuse_discriminator_outputs', True) and
                                            self.discriminator_unchanged_by_generator_update())
        self.batchnorm_updates = train_opt.get('batchnorm_updates') or 'step'
        if self.batchnorm_updates not in BATCHNORM_UPDATES:
            raise ValueError(f'train:batchnorm_updates must be step, release or ~, got {self.batchnorm_updates!r}.')
        if self.batchnorm_updates == 'release':
            cumulative = [n for n, m in self.discriminator.named_modules()
                          if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.momentum is None]
            if cumulative:
                raise ValueError(f'train:batchnorm_updates: release needs BatchNorm momenta; {cumulative[0]} of the '
                                 'discriminator has momentum None (a cumulative average).')
        self._last_terms = OrderedDict()
        self._first_nonfinite = OrderedDict()
        self.current_iter = 0  # the iteration of the last step (a divergence seen on another rank is reported at it)

    def _setup_speed_options(self, train_opt):
        precision = train_opt.get('mixed_precision')
        if precision not in PRECISIONS:
            raise ValueError(f'train:mixed_precision must be one of bf16, fp16, fp32 or ~, got {precision!r}.')
        self.amp_dtype = PRECISIONS[precision]
        self.grad_scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype is torch.float16)
        self.memory_format = torch.channels_last if train_opt.get('channels_last') else torch.contiguous_format
        for net in (self.net_g, self.discriminator):
            net.to(memory_format=self.memory_format)
        backend = train_opt.get('compile')
        if backend not in (None, False, True) and not isinstance(backend, str):
            raise ValueError(f'train:compile must be true, false or a torch.compile backend name, got {backend!r}.')

        def compile_(module):
            if not backend:
                return module
            return torch.compile(module, backend='inductor' if backend is True else backend)

        self.generator_forward = compile_(self.net_g)
        self.discriminator_forward = compile_(self.discriminator)
        self.discriminator_for_update = self.discriminator_forward
        if self.opt['dist']:
            self.discriminator_for_update = compile_(DistributedDataParallel(
                self.discriminator, device_ids=distributed.ddp_device_ids(self.device), find_unused_parameters=True,
                broadcast_buffers=False))

    # ----------------------------------------------------------------- pieces
    def build_discriminator(self):
        """The module mapping an image batch to the discriminator's outputs: here ``network_d`` itself."""
        return self.net_d

    def discriminator_unchanged_by_generator_update(self):
        """Whether the generator's update leaves every discriminator parameter as it was."""
        return True

    def discriminate(self, img, for_update=False):
        """Run the discriminator on an image batch ``(B, 3, H, W)``; ``for_update`` in its own update."""
        out = (self.discriminator_for_update if for_update else self.discriminator_forward)(img)
        return DiscriminatorOutput(*out) if isinstance(out, (tuple, list)) else DiscriminatorOutput(out)

    def discriminator_parameters(self):
        """Parameters that belong to the discriminator alone (frozen for the generator's update)."""
        return list(self.net_d.parameters())

    def set_discriminator_trainable(self, flag):
        for p in self.discriminator_parameters():
            p.requires_grad = flag

    def feed_data(self, data):
        super().feed_data(data)
        memory_format = getattr(self, 'memory_format', torch.contiguous_format)
        self.lq = self.lq.contiguous(memory_format=memory_format)
        if hasattr(self, 'gt'):
            self.gt = self.gt.contiguous(memory_format=memory_format)

    def autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def generator_loss_terms(self, output, gt, real, fake, perceptual_gt=None):
        """Weighted generator losses: pixel, perceptual (+style), whole-image adversarial.

        Args:
            output, gt: generated batch and the pixel loss's target ``(B, 3, H, W)``.
            real, fake: :class:`DiscriminatorOutput` of the real batch (constants) and of ``output``.
            perceptual_gt: the perceptual loss's target (default ``gt``).
        """
        terms = OrderedDict()
        if self.cri_pix:
            terms['l_g_pix'] = self.cri_pix(output, gt)
        if self.cri_perceptual:
            l_percep, l_style = self.cri_perceptual(output, gt if perceptual_gt is None else perceptual_gt)
            if l_percep is not None:
                terms['l_g_percep'] = l_percep
            if l_style is not None:
                terms['l_g_style'] = l_style
        terms['l_g_gan'] = generator_adversarial_loss(self.cri_gan, real.score, fake.score, self.relativistic)
        return terms

    def discriminator_loss_terms(self, real, fake):
        """Discriminator losses from its outputs on the real and the generated batch."""
        terms = OrderedDict()
        terms['l_d_real'], terms['l_d_fake'] = discriminator_adversarial_loss(self.cri_gan, real.score, fake.score,
                                                                              self.relativistic)
        return terms

    def discriminator_output_stats(self, real, fake):
        """Logged means of the discriminator's outputs."""
        return OrderedDict(out_d_real=real.score.detach().mean(), out_d_fake=fake.score.detach().mean())

    def loss_targets(self):
        """``(pixel target, perceptual target, real batch)`` of this iteration, each ``(B, 3, H, W)``."""
        return self.gt, self.gt, self.gt

    def generator_updates_at(self, current_iter):
        return current_iter % self.net_d_iters == 0 and current_iter > self.net_d_init_iters

    def _batchnorm_layers(self):
        return [m for m in self.discriminator.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]

    @contextmanager
    def _batchnorm_momenta(self, which):
        """Within the block, each discriminator BatchNorm has momentum ``release_batchnorm_momenta(m)[which]``."""
        if which is None:
            yield
            return
        layers = self._batchnorm_layers()
        saved = [m.momentum for m in layers]
        for layer, momentum in zip(layers, saved):
            layer.momentum = release_batchnorm_momenta(momentum)[which]
        try:
            yield
        finally:
            for layer, momentum in zip(layers, saved):
                layer.momentum = momentum

    def _count_batchnorm_batches(self, count):
        for layer in self._batchnorm_layers():
            if layer.num_batches_tracked is not None:
                layer.num_batches_tracked.add_(count)

    def _backward(self, loss, **kwargs):
        self.grad_scaler.scale(loss).backward(**kwargs)

    # ------------------------------------------------------------------- step
    def optimize_generator(self, current_iter):
        """Straightforward step, part 1: forward the generator; on generator iterations, update it."""
        self.set_discriminator_trainable(False)
        self.optimizer_g.zero_grad(set_to_none=True)
        with self.autocast():
            self.output = self.generator_forward(self.lq)
            if not self.generator_updates_at(current_iter):
                return OrderedDict()
            pixel_gt, perceptual_gt, real_images = self.loss_targets()
            if self.batchnorm_updates == 'release':  # the release's generator step: generated first
                fake = self.discriminate(self.output)
                with torch.no_grad():
                    real = self.discriminate(real_images)
            else:
                with torch.no_grad():
                    real = self.discriminate(real_images)
                fake = self.discriminate(self.output)
            terms = self.generator_loss_terms(self.output, pixel_gt, real, fake, perceptual_gt=perceptual_gt)
        self._backward(sum(terms.values()))
        self.grad_scaler.step(self.optimizer_g)
        return terms

    def optimize_discriminator(self):
        """Straightforward step, part 2: update the discriminator on the real batch and the detached output."""
        self.set_discriminator_trainable(True)
        self.optimizer_d.zero_grad(set_to_none=True)
        with self.autocast():
            real = self.discriminate(self.loss_targets()[2], for_update=True)
            fake = self.discriminate(self.output.detach(), for_update=True)
            terms = self.discriminator_loss_terms(real, fake)
        self._backward(sum(terms.values()))
        self.grad_scaler.step(self.optimizer_d)
        terms.update(self.discriminator_output_stats(real, fake))
        return terms

    def optimize_reusing_discriminator_outputs(self, current_iter):
        """One discriminator forward per batch serving both updates (see the class docstring)."""
        update_g = self.generator_updates_at(current_iter)
        self.set_discriminator_trainable(True)
        self.optimizer_g.zero_grad(set_to_none=True)
        self.optimizer_d.zero_grad(set_to_none=True)
        with self.autocast():
            self.output = self.generator_forward(self.lq)
            pixel_gt, perceptual_gt, real_images = self.loss_targets()
            release_bn = update_g and self.batchnorm_updates == 'release'
            with self._batchnorm_momenta(0 if release_bn else None):
                real = self.discriminate(real_images, for_update=True)
            with self._batchnorm_momenta(1 if release_bn else None):
                fake = self.discriminate(self.output if update_g else self.output.detach(), for_update=True)
            if release_bn:
                self._count_batchnorm_batches(2)  # the release's two further forwards
            terms = OrderedDict()
            if update_g:
                terms.update(self.generator_loss_terms(self.output, pixel_gt, real.detach(), fake,
                                                       perceptual_gt=perceptual_gt))
            d_terms = self.discriminator_loss_terms(real, fake)
        if update_g:  # gradient to the generator only; the discriminator's graph is kept for its own loss
            self._backward(sum(terms.values()), inputs=list(self.net_g.parameters()), retain_graph=True)
        self._backward(sum(d_terms.values()), inputs=[p for g in self.optimizer_d.param_groups for p in g['params']])
        if update_g:
            self.grad_scaler.step(self.optimizer_g)
        self.grad_scaler.step(self.optimizer_d)
        terms.update(d_terms)
        terms.update(self.discriminator_output_stats(real, fake))
        return terms

    def optimize_parameters(self, current_iter):
        self.current_iter = current_iter
        if self.reuse_discriminator_outputs:
            terms = self.optimize_reusing_discriminator_outputs(current_iter)
        else:
            terms = self.optimize_generator(current_iter)
            terms.update(self.optimize_discriminator())
        self.grad_scaler.update()
        self._last_terms = OrderedDict((k, v.detach()) for k, v in terms.items())
        self._track_finite(current_iter)
        if self.ema_decay > 0:
            self.model_ema(decay=self.ema_decay)

    # ------------------------------------------------------------- logging, divergence
    def _track_finite(self, current_iter):
        """Record, on the device, the first iteration at which each loss term was not finite."""
        for name, value in self._last_terms.items():
            first = self._first_nonfinite.get(name)
            if first is None:
                first = torch.full((), -1, dtype=torch.long, device=value.device)
            self._first_nonfinite[name] = torch.where(~torch.isfinite(value).all() & (first < 0), current_iter, first)

    def check_finite(self):
        """Raise :class:`~fasrgan_basicsr.utils.divergence.DivergenceError` if a loss term was ever non-finite."""
        firsts = torch.stack(list(self._first_nonfinite.values())).tolist() if self._first_nonfinite else []
        # the earliest iteration; within it, the first term computed
        bad = sorted((it, order, name) for order, (name, it) in enumerate(zip(self._first_nonfinite, firsts))
                     if it >= 0)
        if distributed.agreed(int(bool(bad))):
            term, it = (bad[0][2], bad[0][0]) if bad else ('(on another rank)', self.current_iter)
            raise DivergenceError(divergence_message(term, it, self.opt['path']['models']))

    def get_current_log(self):
        self.check_finite()
        return self.reduce_loss_dict(self._last_terms)

    def save(self, epoch, current_iter):
        """Networks then the training state (the resume marker), after checking no loss diverged."""
        self.check_finite()
        if hasattr(self, 'net_g_ema'):
            self.save_network([self.net_g, self.net_g_ema], 'net_g', current_iter, param_key=['params', 'params_ema'])
        else:
            self.save_network(self.net_g, 'net_g', current_iter)
        self.save_discriminator(current_iter)
        self.save_training_state(epoch, current_iter)

    def save_discriminator(self, current_iter):
        self.save_network(self.net_d, 'net_d', current_iter)
