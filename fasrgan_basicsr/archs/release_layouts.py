"""The authors' release checkpoints (github Rainyfish/FASRGAN-and-Fs-SRGAN) under this project's key names.

The release is a fork of the old BasicSR/ESRGAN codebase. Its networks are one ``nn.Sequential`` called
``model`` (``codes/models/modules/architecture.py``, built from ``block.py``'s ``conv_block``, ``RRDB``,
``ResNetBlock``, ``ShortcutBlock`` and ``upconv_blcok`` / ``pixelshuffle_block``, which flatten nested
sequentials), saved as bare state dicts (``<iter>_G.pth``, ``_E.pth``, ``_D.pth``). Read from those module
definitions, the key layouts are:

====================================  ===========================================  ==============================
release key                           RRDB generator (``RRDB_net``, ``RRDBNet_G``)  SRResNet (``sr_resnet``)
====================================  ===========================================  ==============================
``model.0``                           ``conv_first`` (``conv_entry`` in ``_G``)     ``conv_first``
``model.1.sub.<i>.RDB<k>.conv<j>.0``  ``body.<i>.rdb<k>.conv<j>``                   —
``model.1.sub.<i>.res.0`` / ``res.2`` —                                             ``body.<i>.conv1`` / ``conv2``
``model.1.sub.<nb>``                  ``conv_body``                                 ``conv_body``
upsampling convs                      ``model.3``, ``model.6`` → ``conv_up1/2``     ``model.2``, ``model.5`` →
                                      (nearest ×2, conv, LeakyReLU 0.2)             ``upconv1/2`` (conv, shuffle,
                                                                                    ReLU; one ``upconv1`` for ×2
                                                                                    and ×3)
last two convs                        ``conv_hr``, ``conv_last``                    ``conv_hr``, ``conv_last``
====================================  ===========================================  ==============================

- **RRDB generator** (ESRGAN, FASRGAN, the RRDB PSNR model; ``which_model_G: RRDB_net``): maps onto BasicSR's
  ``RRDBNet`` (×4 only: the release's ×2 and ×1 RRDBNets upsample fewer times, BasicSR's pixel-unshuffle its
  input, so no BasicSR arch computes them).
- **SRResNet** (``sr_resnet``, ``norm_type: null``): onto :class:`~.release_srresnet_arch.ReleaseSRResNet`.
- **Feature sharing** (Fs-SRGAN, FA+Fs-SRGAN) saves two files: the shared extractor ``model_ex`` (``_E.pth``:
  ``model.0`` and ``model.1.sub.<i>`` RRDBs inside a shortcut, nothing else) and the generator ``RRDBNet_G``
  (``_G.pth``: ``define_G`` builds it as ``RRDBNet(in_nc=nf)``, so its ``model.0`` takes ``nf`` channels). Each
  alone is recognised and refused with what it is; :func:`join_fs_pair` (``fasrgan-join-fs``) makes the two one
  :class:`~.fs_rrdbnet_arch.FsRRDBNet` checkpoint with ``layout: stacked``, which computes ``_G(_E(x))``.
- The release's UNet discriminator (``inc.``, ``down1.``, …, ``outc.``) is recognised and named, never loaded.

Each layout is registered into :mod:`fasrgan_basicsr.utils.state_layouts` on import, which the package's one
checkpoint loader consults for every file it reads.
"""
import re

from fasrgan_basicsr.utils.state_layouts import StateLayout, identify, register

_TOP = re.compile(r'model\.(\d+)\.')
_BODY = re.compile(r'model\.1\.sub\.(\d+)\.')
_RDB_KEY = re.compile(r'model\.1\.sub\.(\d+)\.RDB([123])\.conv([1-5])\.0\.(weight|bias)$')
_RES_KEY = re.compile(r'model\.1\.sub\.(\d+)\.res\.([02])\.(weight|bias)$')
_LR_CONV_KEY = re.compile(r'model\.1\.sub\.\d+\.(weight|bias)$')

JOIN_COMMAND = 'fasrgan-join-fs --extractor <..._E.pth> --generator <..._G.pth> -o <joined.pth>'


def _shape(state, key):
    return tuple(state[key].shape)


def normalise(state):
    """``state`` with a lone block's keys indexed: ``model.1.sub.RDB1…`` → ``model.1.sub.0.RDB1…``.

    ``block.py``'s ``sequential`` returns a single module as it is, so an extractor of one RRDB (``model_ex`` with
    ``nb: 1``, Fs-SRGAN's E1) stores its block directly under ``model.1.sub``.
    """
    if not any(k.startswith('model.1.sub.RDB') for k in state) or any(_BODY.match(k) for k in state):
        return state
    return {('model.1.sub.0.' + k[len('model.1.sub.'):] if k.startswith('model.1.sub.RDB') else k): v
            for k, v in state.items()}


def parse(state):
    """The release network a state dict holds, as a dict (``kind``, sizes, key positions), or None.

    ``kind``: ``'rrdb'`` (a whole RRDB generator), ``'rrdb_g'`` (Fs ``RRDBNet_G``: the same with ``nf`` input
    channels), ``'rrdb_e'`` (Fs ``model_ex``), ``'srresnet'``, ``'srresnet_g'`` (``sr_resnet_G``), ``'srresnet_e'``
    (``model_ex_rb``), or ``'unknown'`` for other ``model.*`` sequentials of the release's codebase.
    """
    if 'model.0.weight' not in state or len(state['model.0.weight'].shape) != 4:
        return None
    state = normalise(state)
    blocks = sorted({int(m.group(1)) for k in state if (m := _BODY.match(k))})
    if not blocks:
        return None
    num_feat, num_in_ch = _shape(state, 'model.0.weight')[:2]
    rrdb = [i for i in blocks if f'model.1.sub.{i}.RDB1.conv1.0.weight' in state]
    res = [i for i in blocks if f'model.1.sub.{i}.res.0.weight' in state]
    lr_conv = [i for i in blocks if f'model.1.sub.{i}.weight' in state]
    tail = sorted({int(m.group(1)) for k in state if (m := _TOP.match(k))} - {0, 1})
    found = dict(num_feat=num_feat, num_in_ch=num_in_ch, tail=tail)
    if rrdb and not res:
        body, block = rrdb, 'rrdb'
        found['num_grow_ch'] = _shape(state, 'model.1.sub.0.RDB1.conv1.0.weight')[0]
    elif res and not rrdb:
        body, block = res, 'srresnet'
        if any(f'model.1.sub.{i}.res.1.weight' in state for i in res):
            found.update(kind='unknown', reason='its residual blocks hold BatchNorm (norm_type: batch)')
            return found
    else:
        found.update(kind='unknown', reason='its body mixes or lacks RRDBs and residual blocks')
        return found
    found['num_block'] = len(body)
    pattern = _RDB_KEY if block == 'rrdb' else _RES_KEY
    extra = [k for k in state if k.startswith('model.1.sub.') and not pattern.match(k) and not _LR_CONV_KEY.match(k)]
    if extra:
        found.update(kind='unknown', reason=f'its blocks hold {extra[0]}, which the release\'s {block} blocks do not')
        return found
    if body != list(range(len(body))):
        found.update(kind='unknown', reason=f'its blocks are numbered {body[:3]}…, not 0, 1, …')
        return found
    if not tail and not lr_conv and block == 'rrdb':
        found['kind'] = 'rrdb_e'  # model_ex: shortcut around the RRDBs only
        return found
    if not tail and lr_conv == [len(body)] and block == 'srresnet':
        found['kind'] = 'srresnet_e'  # model_ex_rb: shortcut around the blocks and a conv
        return found
    if lr_conv != [len(body)] or len(tail) < 3:
        found.update(kind='unknown', reason='it has no conv after its blocks or no upsampling and output convs')
        return found
    found['num_out_ch'] = _shape(state, f'model.{tail[-1]}.weight')[0]
    fs_part = num_in_ch == num_feat and num_in_ch not in (1, 3)
    found['kind'] = block + ('_g' if fs_part else '')
    return found


def describe(found):
    """What a parsed release network is, as a phrase."""
    kind = found['kind']
    if kind in ('rrdb', 'rrdb_g'):
        ups = len(found['tail']) - 2
        what = ("the authors' release RRDB generator (old ESRGAN layout, which_model_G RRDB_net: "
                if kind == 'rrdb' else
                "the authors' release Fs generator part (RRDBNet_G, old ESRGAN layout: "
                f"{found['num_in_ch']}-channel input from the shared extractor, ")
        return what + f"{found['num_block']} RRDB{'s' if found['num_block'] != 1 else ''}, {found['num_feat']} " \
                      f"features, ×{2 ** ups})"
    if kind == 'rrdb_e':
        return (f"the authors' release shared feature extractor (model_ex, Fs-SRGAN / FA+Fs-SRGAN *_E.pth: "
                f"{found['num_block']} RRDB{'s' if found['num_block'] > 1 else ''}, {found['num_feat']} features)")
    if kind == 'srresnet':
        return (f"the authors' release SRResNet (which_model_G sr_resnet, old layout: {found['num_block']} residual "
                f"blocks, {found['num_feat']} features)")
    if kind == 'srresnet_g':
        return "the authors' release Fs SRResNet part (sr_resnet_G, input from model_ex_rb)"
    if kind == 'srresnet_e':
        return "the authors' release residual-block extractor (model_ex_rb)"
    return f"a network of the authors' release codebase (old ESRGAN layout) that this project does not map " \
           f"({found['reason']})"


def _conv(state, src, dst, out):
    for kind in ('weight', 'bias'):
        key = f'{src}.{kind}'
        if key in state:
            out[f'{dst}.{kind}'] = state[key]
        elif kind == 'weight':
            raise KeyError(key)


def _expect_tail(found, first, step, count, after):
    """Check the convs after the body sit where the release's flattened sequential puts them: ``count``
    upsampling convs from ``model.<first>`` every ``step``, the first output conv ``after`` places after the
    last of them (or at ``first``), its activation, then the last conv."""
    tail, ups = found['tail'], found['tail'][:-2]
    expected = [first + step * i for i in range(count)]
    hr = expected[-1] + after if expected else first
    if ups != expected or tail[-2:] != [hr, hr + 2]:
        raise ValueError(f'its convs after the body sit at model.{", model.".join(map(str, tail))}, not where the '
                         f'release puts {count} upsampling conv(s) (model.{", model.".join(map(str, expected))}) and '
                         f'the two output convs (model.{hr}, model.{hr + 2})')


def _rrdb_body(state, found, out, prefix=''):
    for key, value in state.items():
        if (m := _RDB_KEY.match(key)):
            i, k, j, kind = m.groups()
            out[f'{prefix}body.{i}.rdb{k}.conv{j}.{kind}'] = value


def _rrdb_deep_part(state, found, first_conv):
    """RRDB_net / RRDBNet_G keys → ``first_conv``, ``body.*``, ``conv_body``, ``conv_up1/2``, ``conv_hr``,
    ``conv_last``."""
    if len(found['tail']) - 2 != 2:
        raise ValueError(f"it upsamples ×{2 ** (len(found['tail']) - 2)}; only the release's ×4 RRDB_net (two "
                         "nearest-neighbour upsamplings) has a BasicSR counterpart (BasicSR's ×2 and ×1 RRDBNets "
                         "pixel-unshuffle their input instead)")
    _expect_tail(found, 3, 3, 2, after=2)  # nearest ×2, conv, LeakyReLU
    out = {}
    _conv(state, 'model.0', first_conv, out)
    _rrdb_body(state, found, out)
    _conv(state, f'model.1.sub.{found["num_block"]}', 'conv_body', out)
    for src, dst in zip(found['tail'], ('conv_up1', 'conv_up2', 'conv_hr', 'conv_last')):
        _conv(state, f'model.{src}', dst, out)
    _check_complete(state, out)
    return out


def _check_complete(state, out):
    if len(out) != len(state):
        raise ValueError(f'{len(state) - len(out)} of its tensors have no place in the mapped network')


def rrdb_to_project(state):
    """A release ×4 RRDB generator's state dict under BasicSR ``RRDBNet``'s names."""
    return _rrdb_deep_part(normalise(state), parse(state), 'conv_first')


def srresnet_to_project(state):
    """A release SRResNet's state dict under :class:`ReleaseSRResNet`'s names."""
    found, state = parse(state), normalise(state)
    ups = found['tail'][:-2]
    _expect_tail(found, 2, 3, len(ups), after=3)  # conv, shuffle, ReLU
    factors = [(_shape(state, f'model.{i}.weight')[0] // found['num_feat']) for i in ups]
    if factors not in ([4], [9], [4, 4]):
        raise ValueError(f'its upsampling convs give {factors} × {found["num_feat"]} channels; ReleaseSRResNet '
                         'takes ×2, ×3 or ×4 (one or two pixel shuffles)')
    out = {}
    _conv(state, 'model.0', 'conv_first', out)
    for key, value in state.items():
        if (m := _RES_KEY.match(key)):
            i, r, kind = m.groups()
            out[f'body.{i}.conv{1 if r == "0" else 2}.{kind}'] = value
    _conv(state, f'model.1.sub.{found["num_block"]}', 'conv_body', out)
    names = [f'upconv{i}' for i in range(1, len(ups) + 1)] + ['conv_hr', 'conv_last']
    for src, dst in zip(found['tail'], names):
        _conv(state, f'model.{src}', dst, out)
    _check_complete(state, out)
    return out


def srresnet_options(found, state):
    """``network_g`` of :class:`ReleaseSRResNet` for a parsed release SRResNet."""
    ups = found['tail'][:-2]
    upscale = 3 if len(ups) == 1 and _shape(state, f'model.{ups[0]}.weight')[0] == 9 * found['num_feat'] \
        else 2 ** len(ups)
    return dict(type='ReleaseSRResNet', num_in_ch=found['num_in_ch'], num_out_ch=found['num_out_ch'],
                num_feat=found['num_feat'], num_block=found['num_block'], upscale=upscale)


class PairError(ValueError):
    """The two files given to :func:`join_fs_pair` are not an extractor and its generator (message says why)."""


def join_fs_pair(extractor, generator, extractor_name='--extractor', generator_name='--generator'):
    """``(state dict, network_g options)`` of the :class:`FsRRDBNet` (``layout: stacked``) that computes ``G(E(x))``.

    Args:
        extractor, generator (dict): The release's ``model_ex`` and ``RRDBNet_G`` state dicts (``_E.pth``, ``_G.pth``).
        extractor_name, generator_name (str): How the two are named in error messages.

    Raises:
        PairError: either is not what it should be (swapped files, a whole generator, a discriminator, ...) or
            the two do not fit each other; the message names each file by what it is.
    """
    e, g = parse(extractor), parse(generator)
    extractor, generator = normalise(extractor), normalise(generator)
    kinds = (e and e['kind'], g and g['kind'])
    if kinds == ('rrdb_g', 'rrdb_e'):
        raise PairError(f'the files are swapped: {extractor_name} is {describe(e)} and {generator_name} is '
                        f'{describe(g)}; give the _E file as --extractor and the _G file as --generator.')
    for name, found, state, want in ((extractor_name, e, extractor, 'rrdb_e'), (generator_name, g, generator,
                                                                                'rrdb_g')):
        if found is not None and found['kind'] == want:
            continue
        what = describe(found) if found is not None else _what_else(state)
        need = ("the release's shared extractor (model_ex, *_E.pth)" if want == 'rrdb_e' else
                "the release's Fs generator part (RRDBNet_G, *_G.pth)")
        hint = ' — a whole generator, which loads as it is and needs no joining' if found and found['kind'] in (
            'rrdb', 'srresnet') else ''
        raise PairError(f'{name} is {what}{hint}; expected {need}.')
    if g['num_in_ch'] != e['num_feat'] or g['num_feat'] != e['num_feat'] or g['num_grow_ch'] != e['num_grow_ch']:
        raise PairError(f'{extractor_name} gives {e["num_feat"]} features (growth {e["num_grow_ch"]}), '
                        f'{generator_name} takes {g["num_in_ch"]} (with {g["num_feat"]} features, growth '
                        f'{g["num_grow_ch"]}): they are not one network\'s two parts.')
    deep = _rrdb_deep_part(generator, g, 'conv_entry')
    state = {}
    _conv(extractor, 'model.0', 'extractor.conv_first', state)
    _rrdb_body(extractor, e, state, prefix='extractor.')
    if len(state) != len(extractor):
        raise PairError(f'{extractor_name}: {len(extractor) - len(state)} of its tensors have no place in the '
                        f'extractor.')
    state.update(deep)
    opt = dict(type='FsRRDBNet', num_in_ch=e['num_in_ch'], num_out_ch=g['num_out_ch'], num_feat=e['num_feat'],
               num_shared_block=e['num_block'], num_block=g['num_block'], num_grow_ch=e['num_grow_ch'],
               layout='stacked')
    return state, opt


def _what_else(state):
    """A phrase for a state dict that is no release ``model.*`` network."""
    layout = identify(state)
    if layout is not None:
        return layout.description
    keys = sorted(state)
    return f'no network of the authors\' release (its keys begin {", ".join(keys[:3])}{" …" if len(keys) > 3 else ""})'


def _kind_is(*kinds):
    def matches(state):
        found = parse(state)
        return found is not None and found['kind'] in kinds
    return matches


def _unet_discriminator(state):
    return 'inc.conv.conv.0.weight' in state and 'outc.conv.weight' in state


register(StateLayout('release-rrdbnet', "an RRDB generator in the old ESRGAN layout (the authors' release "
                     "RRDB_net, as ESRGAN's own released weights)", _kind_is('rrdb'), rrdb_to_project))
register(StateLayout('release-srresnet', "the authors' release SRResNet (old layout, which_model_G sr_resnet)",
                     _kind_is('srresnet'), srresnet_to_project))
register(StateLayout(
    'release-fs-generator', "the authors' release Fs generator part (RRDBNet_G, *_G.pth: its input is the shared "
    "extractor's features)", _kind_is('rrdb_g'),
    advice=f'join it with its extractor file (*_E.pth) into one generator: {JOIN_COMMAND}'))
register(StateLayout(
    'release-fs-extractor', "the authors' release shared feature extractor (model_ex, *_E.pth)", _kind_is('rrdb_e'),
    advice=f'join it with its generator file (*_G.pth) into one generator: {JOIN_COMMAND}'))
register(StateLayout(
    'release-fs-srresnet', "a part of the authors' release SRResNet feature sharing (model_ex_rb / sr_resnet_G)",
    _kind_is('srresnet_e', 'srresnet_g'),
    advice="no architecture of this project computes the release's model_ex_rb + sr_resnet_G pair (FsMSRResNet "
           "follows the paper's SRGAN_Fs instead)."))
register(StateLayout(
    'release-other', "a network of the authors' release codebase (old ESRGAN 'model.*' layout) that this project "
    "does not map", _kind_is('unknown'),
    advice='only its ×4 RRDB_net, its sr_resnet without BatchNorm and its model_ex + RRDBNet_G pairs are read.'))
# The release's VGG discriminators (features.N, classifier.N) already have this project's VGGFeatureDiscriminator
# names, so only the UNet is a foreign layout.
register(StateLayout(
    'release-unet-discriminator', "the authors' release UNet discriminator (FASRGAN / FA+Fs-SRGAN *_D.pth)",
    _unet_discriminator,
    advice="it is a discriminator, not a generator; this project's UNetDiscriminatorFA has other names and starts "
           "from its own initialisation."))
