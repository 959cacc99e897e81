"""BasicSR's ``MSRResNet`` (the SRGAN_FA and SRGAN_Fs generators) as a spandrel architecture.

spandrel (what chaiNNer and ComfyUI load models with) detects ESRGAN's ``RRDBNet``, so the FASRGAN,
Fs-SRGAN and FA+Fs-SRGAN generator checkpoints load there as they are. spandrel 0.4.2 has no
``MSRResNet``; this module adds it through spandrel's own extension point, as
``spandrel_extra_arches`` does for its architectures::

    from fasrgan_basicsr.interop import spandrel as fasrgan_spandrel
    fasrgan_spandrel.install()  # adds 'MSRResNet' to spandrel.MAIN_REGISTRY
    model = spandrel.ModelLoader().load_from_file('net_g_latest.pth')

The hyper-parameters come from the same key/shape recognition as every loader of this project
(:func:`fasrgan_basicsr.generators.loading.generator_options`); the network is BasicSR's own.
"""
from basicsr.archs.srresnet_arch import MSRResNet
from spandrel import MAIN_REGISTRY, Architecture, ArchSupport, ImageModelDescriptor
from spandrel.util import KeyCondition

from fasrgan_basicsr.generators.loading import generator_options


class MSRResNetArch(Architecture[MSRResNet]):
    """spandrel architecture ``MSRResNet``: BasicSR's ``MSRResNet`` (×2, ×3, ×4) from its key names."""

    def __init__(self):
        super().__init__(id='MSRResNet', detect=KeyCondition.has_all(
            'conv_first.weight', 'body.0.conv1.weight', 'body.0.conv2.weight', 'upconv1.weight', 'conv_hr.weight',
            'conv_last.weight'))

    def load(self, state_dict):
        opt = generator_options(state_dict, 'MSRResNet')
        opt.pop('type')
        return ImageModelDescriptor(
            MSRResNet(**opt), state_dict, architecture=self, purpose='SR',
            tags=[f'{opt["num_feat"]}nf', f'{opt["num_block"]}nb'], supports_half=True, supports_bfloat16=True,
            scale=opt['upscale'], input_channels=opt['num_in_ch'], output_channels=opt['num_out_ch'])


def install(registry=MAIN_REGISTRY):
    """Add :class:`MSRResNetArch` to ``registry`` (spandrel's main registry by default); a second call does nothing."""
    return registry.add(ArchSupport.from_architecture(MSRResNetArch()), ignore_duplicates=True)
