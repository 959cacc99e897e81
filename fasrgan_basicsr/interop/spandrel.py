"""The generators spandrel does not know, as spandrel architectures: ``MSRResNet``, ``FsRRDBNet`` (stacked),
``ReleaseSRResNet``.

spandrel (what chaiNNer and ComfyUI load models with) detects ESRGAN's ``RRDBNet`` (BasicSR's names and the old
ESRGAN ``model.*`` names), so the FASRGAN, Fs-SRGAN and FA+Fs-SRGAN generator checkpoints of this project, and the
authors' released RRDB generators, load there as they are. spandrel 0.4.2 has none of these; this module adds
them through spandrel's own extension point, as ``spandrel_extra_arches`` does for its architectures::

    from fasrgan_basicsr.interop import spandrel as fasrgan_spandrel
    fasrgan_spandrel.install()  # adds 'MSRResNet', 'FsRRDBNet', 'ReleaseSRResNet' to spandrel.MAIN_REGISTRY
    model = spandrel.ModelLoader().load_from_file('net_g_latest.pth')

- ``MSRResNet``: BasicSR's (SRGAN_FA, SRGAN_Fs).
- ``FsRRDBNet``: this project's feature-sharing generator with ``layout: stacked`` — the authors' release Fs-SRGAN
  and FA+Fs-SRGAN after ``fasrgan-join-fs`` joined their extractor and generator files (keys
  ``extractor.conv_first``, ``conv_entry``, …); no BasicSR arch computes it.
- ``ReleaseSRResNet``: the release's SRResNet, saved by this project under its names (``conv_body`` …).

The hyper-parameters come from the same key/shape recognition as every loader of this project
(:func:`fasrgan_basicsr.generators.loading.generator_options`); the network is BasicSR's own.
"""
from basicsr.archs.srresnet_arch import MSRResNet
from spandrel import MAIN_REGISTRY, Architecture, ArchSupport, ImageModelDescriptor
from spandrel.util import KeyCondition

from fasrgan_basicsr.archs.fs_rrdbnet_arch import FsRRDBNet
from fasrgan_basicsr.archs.release_srresnet_arch import ReleaseSRResNet
from fasrgan_basicsr.generators.loading import generator_options

_MSRRESNET_KEYS = KeyCondition.has_all('conv_first.weight', 'body.0.conv1.weight', 'body.0.conv2.weight',
                                       'upconv1.weight', 'conv_hr.weight', 'conv_last.weight')


class MSRResNetArch(Architecture[MSRResNet]):
    """spandrel architecture ``MSRResNet``: BasicSR's ``MSRResNet`` (×2, ×3, ×4) from its key names."""

    def __init__(self):
        super().__init__(id='MSRResNet',
                         detect=lambda state: _MSRRESNET_KEYS(state) and 'conv_body.weight' not in state)

    def load(self, state_dict):
        opt = generator_options(state_dict, 'MSRResNet')
        opt.pop('type')
        return ImageModelDescriptor(
            MSRResNet(**opt), state_dict, architecture=self, purpose='SR',
            tags=[f'{opt["num_feat"]}nf', f'{opt["num_block"]}nb'], supports_half=True, supports_bfloat16=True,
            scale=opt['upscale'], input_channels=opt['num_in_ch'], output_channels=opt['num_out_ch'])


class ReleaseSRResNetArch(Architecture[ReleaseSRResNet]):
    """spandrel architecture ``ReleaseSRResNet``: the authors' release SRResNet under this project's names."""

    def __init__(self):
        super().__init__(id='ReleaseSRResNet',
                         detect=lambda state: _MSRRESNET_KEYS(state) and 'conv_body.weight' in state)

    def load(self, state_dict):
        opt = generator_options(state_dict, 'ReleaseSRResNet')
        opt.pop('type')
        return ImageModelDescriptor(
            ReleaseSRResNet(**opt), state_dict, architecture=self, purpose='SR',
            tags=[f'{opt["num_feat"]}nf', f'{opt["num_block"]}nb'], supports_half=True, supports_bfloat16=True,
            scale=opt['upscale'], input_channels=opt['num_in_ch'], output_channels=opt['num_out_ch'])


class FsRRDBNetArch(Architecture[FsRRDBNet]):
    """spandrel architecture ``FsRRDBNet``: the feature-sharing RRDB generator with ``layout: stacked`` (×4)."""

    def __init__(self):
        super().__init__(id='FsRRDBNet', detect=KeyCondition.has_all(
            'extractor.conv_first.weight', 'extractor.body.0.rdb1.conv1.weight', 'conv_entry.weight',
            'body.0.rdb1.conv1.weight', 'conv_body.weight', 'conv_up2.weight', 'conv_hr.weight', 'conv_last.weight'))

    def load(self, state_dict):
        opt = generator_options(state_dict, 'FsRRDBNet')
        opt.pop('type')
        return ImageModelDescriptor(
            FsRRDBNet(**opt), state_dict, architecture=self, purpose='SR',
            tags=[f'{opt["num_feat"]}nf', f'E{opt["num_shared_block"]}G{opt["num_block"]}', opt['layout']],
            supports_half=True, supports_bfloat16=True, scale=4, input_channels=opt['num_in_ch'],
            output_channels=opt['num_out_ch'])


ARCHITECTURES = (MSRResNetArch, FsRRDBNetArch, ReleaseSRResNetArch)


def install(registry=MAIN_REGISTRY):
    """Add :data:`ARCHITECTURES` to ``registry`` (spandrel's main registry by default); a second call adds nothing."""
    return registry.add(*(ArchSupport.from_architecture(arch()) for arch in ARCHITECTURES), ignore_duplicates=True)
