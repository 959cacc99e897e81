"""Fix 2: ``basicsr.train.load_resume_state`` without CUDA, from where the run saves, skipping broken states.

BasicSR maps the training state onto ``torch.cuda.current_device()`` (which raises on a machine without CUDA)
and looks for states in ``experiments/`` relative to the working directory. :func:`load_resume_state` loads
onto the run's own device, weights-only, from ``path.training_states``, and skips (with a warning) a newest
state that cannot be read, or whose network checkpoints cannot, for the previous one.
"""
from os import path as osp

import torch
from basicsr.utils import check_resume, scandir

from fasrgan_basicsr.utils.checkpoint import CheckpointError, torch_load
from fasrgan_basicsr.utils.early_warnings import warn_early


def resume_map_location(opt):
    """The ``map_location`` for a training state: the run's own device."""
    if opt.get('num_gpu', 0) != 0 and torch.cuda.is_available():
        return torch.device('cuda', torch.cuda.current_device())
    return torch.device('cpu')


def _usable_state(path, opt):
    """The training state at ``path`` if it and the network checkpoints of its iteration load, else None."""
    try:
        state = torch_load(path, map_location=resume_map_location(opt))
        if not isinstance(state, dict) or 'iter' not in state:
            raise CheckpointError(f'{path}: not a training state (no "iter").')
        for network in (k for k in opt if k.startswith('network_')):
            net_path = osp.join(opt['path']['models'], f'net_{network[len("network_"):]}_{state["iter"]}.pth')
            if not osp.isfile(net_path):
                raise CheckpointError(f'its network checkpoint {net_path} is missing.')
            torch_load(net_path, mmap=True)
    except CheckpointError as err:
        warn_early(f'skipping {path}: {err}')
        return None
    return state


def load_resume_state(opt):
    """Drop-in for ``basicsr.train.load_resume_state`` that works without CUDA and skips broken states.

    Same contract as BasicSR's: with ``auto_resume`` it takes the newest
    ``<path.training_states>/<iter>.state`` — falling back, with a warning, to the previous one
    when a state or one of its iteration's network checkpoints cannot be read; otherwise
    ``path.resume_state`` (which must be readable). Returns the loaded state dict or ``None``.
    """
    if opt['auto_resume']:
        state_path = opt['path']['training_states']
        names = scandir(state_path, suffix='state', recursive=False, full_path=False) if osp.isdir(state_path) else []
        iters = sorted((int(v[:-len('.state')]) for v in names if v[:-len('.state')].isdigit()), reverse=True)
        candidates = [osp.join(state_path, f'{it}.state') for it in iters]
    elif opt['path'].get('resume_state'):
        candidates = [opt['path']['resume_state']]
    else:
        return None

    for path in candidates:
        state = _usable_state(path, opt) if opt['auto_resume'] else torch_load(path, resume_map_location(opt))
        if state is not None:
            if not isinstance(state, dict) or 'iter' not in state:
                raise CheckpointError(f'path:resume_state: {path}: not a training state (no "iter").')
            opt['path']['resume_state'] = path
            check_resume(opt, state['iter'])
            return state
    return None
