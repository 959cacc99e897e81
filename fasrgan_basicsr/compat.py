"""Compatibility layer between BasicSR 1.4.2 (2022) and today's torch/torchvision.

``import fasrgan_basicsr`` calls :func:`apply` before anything imports ``basicsr``.
Each fix is small, idempotent and named after what it repairs:

1. ``torchvision.transforms.functional_tensor`` was removed in torchvision 0.17;
   ``basicsr.data.degradations`` imports ``rgb_to_grayscale`` from it, which makes
   ``import basicsr`` fail. We register an alias module that re-exports the public
   ``torchvision.transforms.functional`` (where the function lives now).
2. ``basicsr.train.load_resume_state`` maps the training state onto
   ``torch.cuda.current_device()``, which raises on a machine without CUDA, so
   ``--auto_resume`` crashes on CPU. We replace it with a version that loads onto
   the device the run trains on (CPU when ``num_gpu`` is 0 or CUDA is absent), and
   that looks for states where the run saves them (``path.training_states``) rather than
   in ``experiments/`` relative to the current directory.

Nothing here changes BasicSR's behaviour on a machine where it already worked.
"""
import sys
import types

_APPLIED = False


def _alias_functional_tensor():
    name = 'torchvision.transforms.functional_tensor'
    if name in sys.modules:
        return
    try:
        import torchvision.transforms.functional_tensor  # noqa: F401  (old torchvision: nothing to do)
        return
    except ImportError:
        pass
    import torchvision.transforms.functional as functional
    alias = types.ModuleType(name)
    alias.__doc__ = 'Alias of torchvision.transforms.functional installed by fasrgan_basicsr.compat.'
    alias.rgb_to_grayscale = functional.rgb_to_grayscale
    sys.modules[name] = alias


def resume_map_location(opt):
    """The ``map_location`` for a training state: the run's own device."""
    import torch
    if opt.get('num_gpu', 0) != 0 and torch.cuda.is_available():
        return torch.device('cuda', torch.cuda.current_device())
    return torch.device('cpu')


def load_resume_state(opt):
    """Drop-in for ``basicsr.train.load_resume_state`` that works without CUDA.

    Same contract as BasicSR's: with ``auto_resume`` it takes the newest
    ``<path.training_states>/<iter>.state``; otherwise
    ``path.resume_state``. Returns the loaded state dict or ``None``.
    """
    from os import path as osp

    import torch
    from basicsr.utils import check_resume, scandir

    resume_state_path = None
    if opt['auto_resume']:
        state_path = opt['path']['training_states']
        if osp.isdir(state_path):
            states = [v for v in scandir(state_path, suffix='state', recursive=False, full_path=False)]
            iters = [int(v.split('.state')[0]) for v in states if v.split('.state')[0].isdigit()]
            if iters:
                resume_state_path = osp.join(state_path, f'{max(iters)}.state')
                opt['path']['resume_state'] = resume_state_path
    elif opt['path'].get('resume_state'):
        resume_state_path = opt['path']['resume_state']

    if resume_state_path is None:
        return None
    resume_state = torch.load(resume_state_path, map_location=resume_map_location(opt), weights_only=True)
    check_resume(opt, resume_state['iter'])
    return resume_state


def apply():
    """Apply every fix once. Safe to call repeatedly."""
    global _APPLIED
    if _APPLIED:
        return
    _alias_functional_tensor()
    import basicsr.train
    basicsr.train.load_resume_state = load_resume_state
    _APPLIED = True
