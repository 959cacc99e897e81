"""Loading network weights safely: ``torch.load(weights_only=True)`` and clear errors."""
import os

import torch

PARAM_KEYS = ('params_ema', 'params')


def load_state_dict(path, param_keys=PARAM_KEYS):
    """The state dict stored in a BasicSR checkpoint (or a bare state dict).

    BasicSR saves ``{'params': ..., 'params_ema': ...}``; the first key of ``param_keys``
    present is returned, else the file itself when it is already a state dict. Loading never
    runs pickled code (``weights_only=True``).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: no such checkpoint file.')
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # truncated file, or a pickle that would run code
        raise ValueError(f'{path}: not a readable weights-only checkpoint ({type(err).__name__}: {err}).') from err
    if not isinstance(ckpt, dict):
        raise ValueError(f'{path}: expected a dict of tensors, found {type(ckpt).__name__}.')
    for key in param_keys:
        if isinstance(ckpt.get(key), dict):
            ckpt = ckpt[key]
            break
    state = {k[7:] if k.startswith('module.') else k: v for k, v in ckpt.items()}
    if not state or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError(f'{path}: has no network weights under {", ".join(param_keys)} or at its top level.')
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
        raise ValueError(f'{path}: does not fit {type(net).__name__} ({"; ".join(parts)}).')
    net.load_state_dict(state, strict=strict)
    return net
