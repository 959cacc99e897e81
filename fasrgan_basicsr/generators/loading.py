"""Generators of this project from their checkpoints alone: architecture recognised from the keys, then loaded.

A BasicSR generator checkpoint holds only weights. Their key names and shapes identify the
architecture and its hyper-parameters:

================  ===========================================================================
arch              keys
================  ===========================================================================
RRDBNet           ``conv_first``, ``body.<i>.rdb1.conv1`` … ``conv_body``, ``conv_up1/2``, ``conv_hr``, ``conv_last``
MSRResNet         ``conv_first``, ``body.<i>.conv1/2``, ``upconv1`` (+ ``upconv2`` for ×4), ``conv_hr``, ``conv_last``
ReleaseSRResNet   the same and ``conv_body`` (the authors' release SRResNet)
FsRRDBNet         ``extractor.conv_first``, ``extractor.body.<i>.rdb1…``, ``body.<j>.rdb1…``, ``conv_up1/2`` …
                  (+ ``conv_entry``: ``layout: stacked``, the authors' release)
FsMSRResNet       ``extractor.conv_first``, ``extractor.body.<i>.conv1…``, ``body.<j>.conv1…``, ``upconv1/2`` …
Bicubic           no weights (the baseline)
================  ===========================================================================

The feature-sharing generators write the plain names (``archs/fs_split.py``): their checkpoints are
recognised as the ``RRDBNet`` / ``MSRResNet`` of E + G blocks that they compute exactly. The
``extractor.*`` rows are the names of Fs checkpoints written before, still recognised and loaded, and of
``FsRRDBNet`` with ``layout: stacked``, which is no plain ``RRDBNet`` and keeps its own names.

Checkpoints of the authors' release (old ESRGAN key names, ``model.0.weight`` …) are read under these names by
the checkpoint loader (``archs/release_layouts.py``), so they are recognised here like the project's own; one
half of a release Fs pair, or a release discriminator, is refused with one line saying what it is.

``num_feat`` = ``conv_first`` output channels, ``num_grow_ch`` = ``rdb1.conv1`` output channels,
block counts = the number of distinct ``body`` indices, ``num_out_ch`` = ``conv_last`` output channels.
"""
import re

from basicsr.archs import build_network

from fasrgan_basicsr.utils.checkpoint import ForeignLayoutError, describe_foreign, load_network, load_state_dict
from fasrgan_basicsr.utils.errors import UserError

GENERATOR_ARCHS = ('RRDBNet', 'FsRRDBNet', 'MSRResNet', 'FsMSRResNet', 'ReleaseSRResNet', 'Bicubic')


class NotAGeneratorError(UserError):
    """The checkpoint is not a generator of this project (message names the file and why)."""


def _block_count(state, prefix):
    indices = {int(m.group(1)) for k in state if (m := re.match(re.escape(prefix) + r'(\d+)\.', k))}
    return max(indices) + 1 if indices else 0


def _shape(state, key):
    return tuple(state[key].shape)


def _rrdbnet(state):
    num_feat, in_total = _shape(state, 'conv_first.weight')[:2]
    num_out_ch = _shape(state, 'conv_last.weight')[0]
    scale = {1: 4, 4: 2, 16: 1}.get(in_total // num_out_ch) if in_total % num_out_ch == 0 else None
    if scale is None:
        raise KeyError('conv_first input channels are not 1, 4 or 16 × the output channels')
    return dict(type='RRDBNet', num_in_ch=in_total // {4: 1, 2: 4, 1: 16}[scale], num_out_ch=num_out_ch,
                scale=scale, num_feat=num_feat, num_block=_block_count(state, 'body.'),
                num_grow_ch=_shape(state, 'body.0.rdb1.conv1.weight')[0])


def _fs_rrdbnet(state):
    num_feat, num_in_ch = _shape(state, 'extractor.conv_first.weight')[:2]
    _shape(state, 'conv_up2.weight')
    opt = dict(type='FsRRDBNet', num_in_ch=num_in_ch, num_out_ch=_shape(state, 'conv_last.weight')[0],
               num_feat=num_feat, num_shared_block=_block_count(state, 'extractor.body.'),
               num_block=_block_count(state, 'body.'), num_grow_ch=_shape(state, 'body.0.rdb1.conv1.weight')[0])
    if 'conv_entry.weight' in state:
        opt['layout'] = 'stacked'
    return opt


def _msrresnet_upscale(state, num_feat):
    if 'upconv2.weight' in state:
        return 4
    return 3 if _shape(state, 'upconv1.weight')[0] == num_feat * 9 else 2


def _msrresnet(state):
    num_feat, num_in_ch = _shape(state, 'conv_first.weight')[:2]
    _shape(state, 'body.0.conv1.weight')
    return dict(type='MSRResNet', num_in_ch=num_in_ch, num_out_ch=_shape(state, 'conv_last.weight')[0],
                num_feat=num_feat, num_block=_block_count(state, 'body.'),
                upscale=_msrresnet_upscale(state, num_feat))


def _release_srresnet(state):
    num_feat, num_in_ch = _shape(state, 'conv_first.weight')[:2]
    _shape(state, 'body.0.conv1.weight')
    _shape(state, 'conv_body.weight')
    up1 = _shape(state, 'upconv1.weight')[0]
    upscale = 4 if 'upconv2.weight' in state else (3 if up1 == num_feat * 9 else 2)
    return dict(type='ReleaseSRResNet', num_in_ch=num_in_ch, num_out_ch=_shape(state, 'conv_last.weight')[0],
                num_feat=num_feat, num_block=_block_count(state, 'body.'), upscale=upscale)


def _fs_msrresnet(state):
    num_feat, num_in_ch = _shape(state, 'extractor.conv_first.weight')[:2]
    _shape(state, 'upconv2.weight')
    return dict(type='FsMSRResNet', num_in_ch=num_in_ch, num_out_ch=_shape(state, 'conv_last.weight')[0],
                num_feat=num_feat, num_shared_block=_block_count(state, 'extractor.body.'),
                num_block=_block_count(state, 'body.'))


_INFER = {'RRDBNet': _rrdbnet, 'FsRRDBNet': _fs_rrdbnet, 'MSRResNet': _msrresnet, 'FsMSRResNet': _fs_msrresnet,
          'ReleaseSRResNet': _release_srresnet}


def recognise_arch(state):
    """The arch name a generator state dict belongs to, or None."""
    if 'extractor.conv_first.weight' in state:
        return 'FsRRDBNet' if 'body.0.rdb1.conv1.weight' in state else 'FsMSRResNet'
    if 'conv_first.weight' in state and 'conv_last.weight' in state:
        if 'body.0.rdb1.conv1.weight' in state:
            return 'RRDBNet'
        if 'body.0.conv1.weight' in state and 'upconv1.weight' in state:
            return 'ReleaseSRResNet' if 'conv_body.weight' in state else 'MSRResNet'
    return None


def _describe(state):
    foreign = describe_foreign(state)
    if foreign is not None:
        return foreign
    keys = sorted(state)
    if any(k.startswith(('enc1.', 'dec1.', 'to_map.')) for k in keys):
        return 'it looks like a UNetDiscriminatorFA (discriminator) checkpoint'
    if any(k.startswith(('classifier.', 'features.', 'conv0_0.', 'linear1.')) for k in keys):
        return 'it looks like a discriminator checkpoint'
    return f'its keys begin {", ".join(keys[:4])}{" …" if len(keys) > 4 else ""}'


def generator_options(state, arch=None, path='checkpoint'):
    """``network_g`` options (a dict for ``build_network``) read from a generator state dict.

    Args:
        state (dict): The state dict (``load_state_dict`` of the checkpoint).
        arch (str | None): Force an arch of :data:`GENERATOR_ARCHS`; default: recognised from the keys.
        path (str): Named in error messages.

    Raises:
        NotAGeneratorError: the keys fit no generator of this project (or not ``arch``).
    """
    if arch is not None and arch not in _INFER:
        raise NotAGeneratorError(f'{path}: --arch {arch!r} is not one of {", ".join(GENERATOR_ARCHS)}.')
    found = arch or recognise_arch(state)
    if found is None:
        raise NotAGeneratorError(f'{path}: not a generator of this project ({", ".join(GENERATOR_ARCHS[:-1])}); '
                                 f'{_describe(state)}.')
    try:
        return _INFER[found](state)
    except (KeyError, IndexError) as err:
        raise NotAGeneratorError(f'{path}: its weights do not fit a {found} ({err}); {_describe(state)}.') from err


def load_generator(model_path=None, arch=None, param_keys=('params_ema', 'params')):
    """Build and load a generator of this project; ``(net in eval mode, its network_g options)``.

    ``arch='Bicubic'`` (or no ``model_path`` at all) gives the weight-free Bicubic ×4 baseline.
    Checkpoints load with ``weights_only=True`` (``fasrgan_basicsr.utils.checkpoint``); ``params_ema``
    is preferred when present.

    Raises:
        NotAGeneratorError: (a :class:`UserError`) the file is missing or not a generator checkpoint of
            this project (unreadable, a code-running pickle, a discriminator, a training state, weights
            that fit no generator or not ``arch``).
    """
    if arch == 'Bicubic' or (model_path is None and arch is None):
        if model_path is not None:
            raise NotAGeneratorError(f'{model_path}: --arch Bicubic takes no checkpoint.')
        opt = dict(type='Bicubic', scale=4)
        return build_network(dict(opt)).eval(), opt
    if model_path is None:
        raise NotAGeneratorError(f'--arch {arch} needs a checkpoint (--model_path).')
    try:
        state = load_state_dict(model_path, param_keys)
    except ForeignLayoutError as err:  # says what the file is and what to do with it
        raise NotAGeneratorError(str(err)) from err
    except ValueError as err:
        raise NotAGeneratorError(f'{err} Expected a generator checkpoint of this project (net_g_*.pth).') from err
    opt = generator_options(state, arch, model_path)
    try:
        net = load_network(build_network(dict(opt)), model_path, param_keys)
    except ValueError as err:
        raise NotAGeneratorError(str(err)) from err
    return net.eval(), opt


def network_scale(opt):
    """The upsampling factor of a generator built from ``opt``."""
    return opt.get('scale', opt.get('upscale', 4))
