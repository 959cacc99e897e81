"""Loading and saving network weights safely: the one checkpoint loader of this package.

- Loading always uses ``torch.load(weights_only=True)``: a checkpoint that would run pickled
  code is refused with a clear message, never executed (pretrained weights come from the internet).
  :func:`weights_only_loading` extends that to the weight files that torch, torchvision and BasicSR
  load on the plugin's behalf (VGG19, AlexNet, ResNet-50), whatever ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` says.
- :func:`load_network` fits a checkpoint to a network and says which file, which parameter set and,
  on a mismatch, which keys; it is what BasicSR's ``load_network`` and the option check both call.
- Checkpoints of other codebases' layouts (the authors' release: old ESRGAN key names) are recognised by
  their keys and shapes and read under this project's names (:mod:`.state_layouts`, where ``archs/``
  registers the layouts it maps); a file recognised but not loadable alone (one half of a pair, a
  discriminator) is refused with one line saying what it is and what to do.
- Saving writes to a temporary file in the same folder, flushes it to disk and moves it into
  place, so an interrupted save never leaves a truncated file at the final path. Files get the
  permissions ``torch.save`` would give them (``0o666`` less the umask).
"""
import contextlib
import os
import pickle
import secrets
import warnings
from typing import NamedTuple, Optional

import torch

from . import state_layouts
from .errors import UserError
from .files import regular_file_problem

PARAM_KEYS = ('params_ema', 'params')
#: temporary files of :func:`atomic_torch_save`: ``.<final name>.<random hex>.tmp``
TMP_SUFFIX = '.tmp'


class CheckpointError(UserError):
    """A checkpoint that cannot be used (missing, unreadable, unsafe, or not fitting its network); names the file."""


class ForeignLayoutError(CheckpointError):
    """A checkpoint of a registered foreign layout that cannot be loaded as it is; says what it is and what to do."""


@contextlib.contextmanager
def weights_only_loading():
    """Within this block every ``torch.load`` is weights-only, even where a library passes ``weights_only=False``.

    torch honours ``TORCH_FORCE_WEIGHTS_ONLY_LOAD`` over the call site (torchvision's weight loader passes
    ``weights_only=False``; BasicSR's VGG loader relies on the default that ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``
    flips). The environment is restored afterwards.
    """
    saved = {k: os.environ.get(k) for k in ('TORCH_FORCE_WEIGHTS_ONLY_LOAD', 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD')}
    os.environ['TORCH_FORCE_WEIGHTS_ONLY_LOAD'] = '1'
    os.environ.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def file_format(path):
    """What the first bytes of ``path`` say it is: ``'torch'`` (zip or pickle), ``'safetensors'``, ``'onnx'`` or
    ``'unknown'``."""
    with open(path, 'rb') as f:
        head = f.read(16)
    if head.startswith(b'PK\x03\x04') or head[:1] == b'\x80':
        return 'torch'
    if len(head) >= 9 and head[8:9] == b'{' and int.from_bytes(head[:8], 'little') < os.path.getsize(path):
        return 'safetensors'
    if path.lower().endswith('.onnx') or head[:1] == b'\x08':  # ONNX: a protobuf whose first field is ir_version
        return 'onnx'
    return 'unknown'


def torch_load(path, map_location='cpu', mmap=False):
    """``torch.load(path, weights_only=True)`` with errors that name the file and the cause.

    A ``.safetensors`` file (what ``fasrgan-export`` writes) is read as its dict of tensors. Only regular files are
    read (a named pipe would block).
    """
    problem = regular_file_problem(path, 'checkpoint file')
    if problem:
        raise CheckpointError(problem)
    kind = file_format(path)
    if kind == 'safetensors':
        from safetensors import SafetensorError
        from safetensors.torch import load_file
        try:
            return load_file(path, device=str(map_location) if isinstance(map_location, (str, torch.device)) else 'cpu')
        except (SafetensorError, OSError, ValueError) as err:
            raise CheckpointError(f'{path}: not a readable safetensors file ({err}).') from err
    if kind == 'onnx':
        raise CheckpointError(f'{path}: an ONNX model, not a PyTorch checkpoint; ONNX files run in onnxruntime. Give '
                              'the generator checkpoint (.pth, or the .safetensors exported beside it).')
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols of refused files: the error says it
            warnings.simplefilter('ignore')
            return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as err:
        if kind == 'unknown':  # not torch's zip or pickle at all: its bytes are no pickle of objects either
            raise CheckpointError(f'{path}: not a PyTorch checkpoint (neither torch\'s zip nor pickle format, nor '
                                  'safetensors).') from err
        raise CheckpointError(f'{path}: refused — it holds pickled objects that weights-only loading does not allow '
                              f'(loading it could run arbitrary code). Only tensors, numbers, strings and containers '
                              f'are accepted.') from err
    except Exception as err:  # truncated or corrupted file
        reason = str(err).splitlines()[0] if str(err) else ''
        raise CheckpointError(f'{path}: not a readable checkpoint ({type(err).__name__}: {reason}).') from err


def atomic_torch_save(obj, path):
    """``torch.save`` to ``path`` through a temporary file: the final path is complete or untouched."""
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f'.{os.path.basename(path)}.{secrets.token_hex(4)}{TMP_SUFFIX}')
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for torch.save
    try:
        with os.fdopen(fd, 'wb') as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if os.path.exists(tmp):
            os.remove(tmp)
        cause = _os_error_in(err)
        if cause is not None and (cause is not err or not cause.filename):
            # torch's zip writer reports a full disk as RuntimeError("unexpected pos ...") on top of the OSError
            raise OSError(cause.errno, cause.strerror, path) from err
        raise


def _os_error_in(err):
    """The first ``OSError`` with an errno in ``err``'s chain of causes and contexts, or None."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, OSError) and err.errno is not None:
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def remove_orphan_temporaries(folder):
    """Delete the temporary files that saves killed mid-write (SIGKILL, power loss) left in ``folder``."""
    removed = []
    if os.path.isdir(folder):
        for name in os.listdir(folder):
            if name.startswith('.') and name.endswith(TMP_SUFFIX) and (
                    '.pth.' in name or '.state.' in name):
                os.remove(os.path.join(folder, name))
                removed.append(name)
    return removed


class StoredWeights(NamedTuple):
    """What :func:`read_weights` found in a checkpoint."""
    state: dict  #: the state dict, under this project's names
    param_key: Optional[str]  #: the param key it was stored under (None: the file's top level)
    layout: Optional[state_layouts.StateLayout]  #: the foreign layout it was converted from (None: this project's)


def find_state_dict(path, param_keys=PARAM_KEYS, convert=True):
    """``(state dict, the param key it came from or None)`` stored in a BasicSR checkpoint (or a bare state dict).

    BasicSR saves ``{'params': ..., 'params_ema': ...}``; the first key of ``param_keys`` present is
    used, else the file itself when it is already a state dict. A ``module.`` prefix (DataParallel/DDP)
    is stripped. With ``convert`` (default), a state dict of a registered foreign layout is returned under
    this project's names (:func:`read_weights` says which layout it was).
    """
    found = read_weights(path, param_keys, convert)
    return found.state, found.param_key


def read_weights(path, param_keys=PARAM_KEYS, convert=True):
    """:class:`StoredWeights` of a checkpoint: its state dict, the param key used, and its foreign layout (or None).

    Raises:
        CheckpointError: not a readable checkpoint of tensors; or (with ``convert``) a foreign layout that
            is not loadable on its own, or that cannot be mapped (the message says what the file is).
    """
    ckpt = torch_load(path)
    if not isinstance(ckpt, dict):
        raise CheckpointError(f'{path}: expected a dict of tensors, found {type(ckpt).__name__}.')
    used = None
    for key in param_keys:
        if isinstance(ckpt.get(key), dict):
            ckpt, used = ckpt[key], key
            break
    state = {k[7:] if k.startswith('module.') else k: v for k, v in ckpt.items()}
    if not state or not all(torch.is_tensor(v) for v in state.values()):
        raise CheckpointError(f'{path}: has no network weights under {", ".join(param_keys) or "its top level"}'
                              f'{" or at its top level" if param_keys else ""} (keys: {", ".join(map(str, ckpt))}).')
    broken = [k for k, v in state.items() if v.is_floating_point() and v.device.type != 'meta'
              and not torch.isfinite(v).all()]
    if broken:
        raise CheckpointError(f'{path}: {len(broken)} of its {len(state)} tensors hold NaN or infinite values, e.g. '
                              f'{broken[0]} (a diverged run?); refused — it would give black images and NaN graphs.')
    layout = state_layouts.identify(state)
    if layout is not None and convert:
        if layout.to_project is None:
            raise ForeignLayoutError(f'{path}: {layout.description}, not loadable on its own; {layout.advice}')
        try:
            state = layout.to_project(state)
        except (ValueError, KeyError, IndexError) as err:
            raise ForeignLayoutError(f'{path}: {layout.description}, which cannot be loaded here: {err}.') from err
    return StoredWeights(state, used, layout)


def describe_foreign(state):
    """``'it is <what>'`` for a state dict of a registered foreign layout, else None (for error messages)."""
    layout = state_layouts.identify(state)
    return None if layout is None else f'it is {layout.description}'


def load_state_dict(path, param_keys=PARAM_KEYS):
    """The state dict of :func:`find_state_dict`."""
    return find_state_dict(path, param_keys)[0]


def _key_list(keys, limit=3):
    return ', '.join(keys[:limit]) + (f' (+{len(keys) - limit} more)' if len(keys) > limit else '')


def fit_state_dict(net, state, path, strict=True, label=None):
    """Load ``state`` into ``net``; returns the notes to log. A mismatch names the file, the network and the keys.

    With ``strict=False`` (BasicSR's ``strict_load_*: false``) keys whose shape differs are skipped with a
    note, as BasicSR does; missing and unexpected keys are reported by what ``load_state_dict`` itself
    (with the network's own key-mapping hooks) could not place.
    """
    label = label or type(net).__name__
    own = net.state_dict()
    wrong = [k for k in state if k in own and own[k].shape != state[k].shape]
    notes = []
    if wrong and not strict:
        notes = [f'{path}: {k} has shape {tuple(state[k].shape)}, {label} needs {tuple(own[k].shape)}: not loaded.'
                 for k in wrong]
        state = {k: v for k, v in state.items() if k not in wrong}
    elif wrong:
        k = wrong[0]
        raise CheckpointError(f'{path}: does not fit {label} — {len(wrong)} tensor(s) of another shape, first '
                              f'{k}: {tuple(state[k].shape)} in the file, {tuple(own[k].shape)} in the network '
                              '(another architecture or width in network_g/network_d?).')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # copying into meta tensors (the option check) warns per tensor
        try:
            result = net.load_state_dict(state, strict=False)
        except RuntimeError as err:
            first = str(err).splitlines()[1].strip() if len(str(err).splitlines()) > 1 else str(err)
            raise CheckpointError(f'{path}: does not fit {label} ({first}).') from err
    missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
    if strict and (missing or unexpected):
        parts = [f'{what} {_key_list(keys)}' for what, keys in (('missing', missing), ('unexpected', unexpected))
                 if keys]
        raise CheckpointError(f'{path}: does not fit {label} ({"; ".join(parts)}): another architecture or depth '
                              'in network_g/network_d? (strict_load: false loads what fits)')
    notes += [f'{path}: {what} {_key_list(keys, 10)} (strict_load is false).'
              for what, keys in (('not in the file, left as built:', missing), ('not in the network, ignored:',
                                                                                  unexpected)) if keys]
    return notes


def load_network(net, path, param_keys=PARAM_KEYS, strict=True, label=None):
    """Load a checkpoint into ``net``; a mismatch names the file and the differing keys. Returns ``net``."""
    fit_state_dict(net, load_state_dict(path, param_keys), path, strict, label)
    return net
