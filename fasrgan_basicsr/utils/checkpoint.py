"""Loading and saving network weights safely.

- Loading always uses ``torch.load(weights_only=True)``: a checkpoint that would run pickled
  code is refused with a clear message, never executed (pretrained weights come from the internet).
- Saving writes to a temporary file in the same folder, flushes it to disk and moves it into
  place, so an interrupted save never leaves a truncated file at the final path.
"""
import os
import pickle
import tempfile

import torch

from .cli import UserError

PARAM_KEYS = ('params_ema', 'params')


class CheckpointError(UserError):
    """A checkpoint that cannot be used (missing, unreadable, unsafe, or not fitting its network); names the file."""


def torch_load(path, map_location='cpu'):
    """``torch.load(path, weights_only=True)`` with errors that name the file and the cause."""
    if not os.path.isfile(path):
        raise CheckpointError(f'{path}: no such checkpoint file.')
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(f'{path}: refused — it holds pickled objects that weights-only loading does not allow '
                         f'(loading it could run arbitrary code). Only tensors, numbers, strings and containers '
                         f'are accepted.') from err
    except Exception as err:  # truncated or corrupted file
        raise CheckpointError(f'{path}: not a readable checkpoint ({type(err).__name__}: {err}).') from err


def atomic_torch_save(obj, path):
    """``torch.save`` to ``path`` through a temporary file: the final path is complete or untouched."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{os.path.basename(path)}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_state_dict(path, param_keys=PARAM_KEYS):
    """The state dict stored in a BasicSR checkpoint (or a bare state dict).

    BasicSR saves ``{'params': ..., 'params_ema': ...}``; the first key of ``param_keys``
    present is returned, else the file itself when it is already a state dict. A ``module.``
    prefix (DataParallel/DDP) is stripped.
    """
    ckpt = torch_load(path)
    if not isinstance(ckpt, dict):
        raise CheckpointError(f'{path}: expected a dict of tensors, found {type(ckpt).__name__}.')
    for key in param_keys:
        if isinstance(ckpt.get(key), dict):
            ckpt = ckpt[key]
            break
    state = {k[7:] if k.startswith('module.') else k: v for k, v in ckpt.items()}
    if not state or not all(torch.is_tensor(v) for v in state.values()):
        raise CheckpointError(f'{path}: has no network weights under {", ".join(param_keys)} or at its top level.')
    return state


def load_network(net, path, param_keys=PARAM_KEYS, strict=True):
    """Load a checkpoint into ``net``; a mismatch names the file and the differing keys."""
    state = load_state_dict(path, param_keys)
    own = net.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if strict and (missing or unexpected or wrong):
        parts = [f'{name}: {", ".join(keys[:5])}{" …" if len(keys) > 5 else ""}'
                 for name, keys in (('missing', missing), ('unexpected', unexpected), ('wrong shape', wrong)) if keys]
        raise CheckpointError(f'{path}: does not fit {type(net).__name__} ({"; ".join(parts)}).')
    net.load_state_dict(state, strict=strict)
    return net
