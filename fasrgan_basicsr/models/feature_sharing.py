import copy

from basicsr.utils import get_root_logger
from torch import nn as nn

from fasrgan_basicsr.archs.shared_extractor_arch import SharedFeatureExtractor
from fasrgan_basicsr.utils.checkpoint import torch_load

from .gan_step import GANStepMixin


class FeatureDiscriminator(nn.Module):
    """A discriminator head reading an extractor's features: ``head(extractor(x))``.

    Holds references to both (the extractor may be the generator's own): one module, so that
    distributed training reduces the gradients of everything the discriminator's update trains.
    """

    def __init__(self, extractor, head):
        super().__init__()
        self.extractor = extractor
        self.head = head

    def forward(self, x):
        return self.head(self.extractor(x))


class FeatureSharingMixin(GANStepMixin):
    """Feature sharing (Fs-SRGAN, paper Sec. III-B) for any BasicSR GAN model.

    The generator (``network_g``, e.g. ``FsRRDBNet``) holds the shared low-level extractor ``E`` as
    its ``extractor`` attribute; the discriminator module (``network_d``) is only the head and
    reads ``E(x)`` of SR and HR images. So the generator checkpoint stays one self-contained
    network for BasicSR's ``SRModel``, EMA and test pipeline, and ``net_d`` checkpoints hold only
    the head.

    Training (both networks train ``E``):

    - the generator's update trains every generator parameter, ``E`` included, through both of
      its uses (``E(LR)`` inside the generator and ``E(SR)`` inside the discriminator); freezing the
      discriminator for this update freezes only the head (:meth:`discriminator_parameters`);
    - the discriminator's update trains the head and ``E`` (its optimizer holds exactly those;
      nothing of the generator's deep part), with the SR batch detached from the generator.

    ``train.share_extractor: false`` is the ``woFs`` ablation: the discriminator gets its own
    extractor of the same shape (initialised as a copy of the generator's), trained only by the
    discriminator's update and saved in ``net_d_*.pth`` under ``params_extractor``.

    Usage: ``class MyFsModel(FeatureSharingMixin, MyGANModel)`` (mixin first); it combines with
    :class:`FineGrainedAttentionMixin` (FA+Fs-SRGAN).
    """

    TRAIN_OPTIONS = ('share_extractor',)

    def init_training_settings(self):
        generator = self.get_bare_model(self.net_g)
        extractor = getattr(generator, 'extractor', None)
        if not isinstance(extractor, SharedFeatureExtractor):
            raise ValueError(f'{type(self).__name__} shares the generator\'s low-level extractor with the '
                             f'discriminator: network_g must have one (FsRRDBNet, FsMSRResNet), got '
                             f'{type(generator).__name__}.')
        self.share_extractor = self.opt['train'].get('share_extractor', True)
        self.net_d_extractor = extractor if self.share_extractor else copy.deepcopy(extractor)  # on net_g's device
        super().init_training_settings()
        if not self.share_extractor:
            self._load_discriminator_extractor()

    def _load_discriminator_extractor(self):
        load_path = self.opt['path'].get('pretrain_network_d')
        if load_path is None:
            return
        ckpt = torch_load(load_path)
        if 'params_extractor' in ckpt:
            self.net_d_extractor.load_state_dict(ckpt['params_extractor'])
        else:
            get_root_logger().info(f'{load_path} has no params_extractor: the discriminator keeps its copy of the '
                                   'generator\'s extractor.')

    def setup_optimizers(self):
        super().setup_optimizers()
        self.optimizer_d.add_param_group({'params': list(self.net_d_extractor.parameters())})

    def build_discriminator(self):
        return FeatureDiscriminator(self.net_d_extractor, self.net_d)

    def discriminator_parameters(self):
        params = list(self.net_d.parameters())
        if not self.share_extractor:
            params += list(self.net_d_extractor.parameters())
        return params

    def discriminator_unchanged_by_generator_update(self):
        return not self.share_extractor  # the generator's update trains the shared extractor

    def save_discriminator(self, current_iter):
        if self.share_extractor:
            return super().save_discriminator(current_iter)
        self.save_network([self.net_d, self.net_d_extractor], 'net_d', current_iter,
                          param_key=['params', 'params_extractor'])
