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
   the device the run trains on (CPU when ``num_gpu`` is 0 or CUDA is absent), weights-only,
   that looks for states where the run saves them (``path.training_states``) rather than
   in ``experiments/`` relative to the current directory, and that skips (with a warning) a
   newest state that cannot be read, or whose network checkpoints cannot, for the previous one.

3. ``BaseModel.load_network`` relies on ``torch.load``'s default, which only became
   ``weights_only=True`` in torch 2.6: it now always loads weights-only (a checkpoint that would
   run pickled code is refused with a clear message) with errors that name the file.
4. Distributed training assumes CUDA: ``init_dist`` calls ``torch.cuda.set_device`` (a division by
   zero without GPUs) with the NCCL backend, and ``model_to_device`` passes CUDA ``device_ids`` to
   DistributedDataParallel. Without CUDA we use the gloo backend and CPU DDP; with CUDA each
   process takes ``LOCAL_RANK``'s GPU (correct on multi-node torchrun too).

5. ``ordered_yaml`` (the YAML loader of BasicSR's ``parse_options``) builds Python objects from tags such as
   ``!!python/object/apply:os.system``: it now returns this package's safe option loader
   (:class:`fasrgan_basicsr.utils.options.OptionLoader`), so even BasicSR's own ``basicsr/train.py`` run with
   the plugin imported reads option files as plain data.

6. ``RealESRGANModel`` and ``RealESRNetModel`` move their USM sharpener, JPEG simulator and training-pair
   pool to CUDA unconditionally (``.cuda()``), so they cannot even be built on a CPU: the sharpener and the
   JPEG simulator now go to the model's own device (``self.device``: CUDA when ``num_gpu`` > 0, else the
   CPU), and the pool is created there. Their ``filter2D`` (blur and sinc steps) reshapes with ``view``, which
   fails on the non-contiguous images the JPEG simulator returns with today's torch: it gets a contiguous copy.

Nothing here changes BasicSR's behaviour on a machine where it already worked, for option files and
checkpoints that hold plain data.
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


#: warnings given before BasicSR's log file exists; ``resilience`` writes them into it once it does.
PENDING_LOG = []


def warn_early(message):
    """A warning on stderr now, and in the run's log file as soon as that exists."""
    print(f'WARNING: {message}', file=sys.stderr, flush=True)
    PENDING_LOG.append(message)


def _usable_state(path, opt):
    """The training state at ``path`` if it and the network checkpoints of its iteration load, else None."""
    from os import path as osp

    from fasrgan_basicsr.utils.checkpoint import CheckpointError, torch_load

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
    from os import path as osp

    from basicsr.utils import check_resume, scandir

    from fasrgan_basicsr.utils.checkpoint import CheckpointError, torch_load

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


def load_network(self, net, load_path, strict=True, param_key='params'):
    """Drop-in for ``BaseModel.load_network``: weights-only, names what it loads, and why a file does not fit."""
    from basicsr.utils import get_root_logger

    from fasrgan_basicsr.utils.checkpoint import find_state_dict, fit_state_dict

    logger = get_root_logger()
    net = self.get_bare_model(net)
    state, used = find_state_dict(load_path, (param_key, 'params') if param_key is not None else ())
    logger.info(f'Loading {net.__class__.__name__} model from {load_path}, with param key: [{used or "(top level)"}].')
    if param_key is not None and used != param_key:
        logger.info(f'Loading: {param_key} does not exist in {load_path}, use {used or "its top level"}.')
    for note in fit_state_dict(net, state, load_path, strict):
        logger.warning(note)


def safe_ordered_yaml():
    """Drop-in for ``basicsr.utils.options.ordered_yaml``: its loader builds plain data only (no Python objects)."""
    import yaml

    from fasrgan_basicsr.utils.options import OptionLoader

    return OptionLoader, getattr(yaml, 'CDumper', yaml.Dumper)


def init_dist(launcher, backend='nccl', **kwargs):
    """Drop-in for ``basicsr.utils.dist_util.init_dist`` that also works without CUDA (gloo)."""
    import os

    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp

    if mp.get_start_method(allow_none=True) is None:
        mp.set_start_method('spawn')
    if not torch.cuda.is_available():
        if launcher != 'pytorch':
            raise RuntimeError(f'--launcher {launcher} without CUDA is not supported; use torchrun '
                               '(--launcher pytorch), which trains on CPU with the gloo backend.')
        dist.init_process_group(backend='gloo')
        return
    if launcher == 'pytorch':
        torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', int(os.environ['RANK']) % torch.cuda.device_count())))
        dist.init_process_group(backend=backend, **kwargs)
    else:
        from basicsr.utils.dist_util import _init_dist_slurm
        _init_dist_slurm(backend, **kwargs)


def ddp_device_ids(device):
    """DistributedDataParallel's ``device_ids`` for a module on ``device``: the current CUDA device, none on the CPU."""
    import torch
    return [torch.cuda.current_device()] if device.type == 'cuda' else None


def model_to_device(self, net):
    """Drop-in for ``BaseModel.model_to_device``: CPU DistributedDataParallel without ``device_ids``."""
    from torch.nn.parallel import DataParallel, DistributedDataParallel

    net = net.to(self.device)
    if self.opt['dist']:
        return DistributedDataParallel(net, device_ids=ddp_device_ids(self.device),
                                       find_unused_parameters=self.opt.get('find_unused_parameters', False))
    if self.opt['num_gpu'] > 1:
        return DataParallel(net)
    return net


def _deferred_cuda(cls):
    """``cls`` whose ``.cuda()`` leaves it where it is: the Real-ESRGAN models move it to their device."""
    return type(cls.__name__, (cls,), {'cuda': lambda self, device=None: self,
                                       '__doc__': f'{cls.__name__} placed by the model on its own device.'})


def _contiguous_filter2d(filter2d):
    def contiguous_filter2d(img, kernel):
        return filter2d(img.contiguous(), kernel)
    return contiguous_filter2d


def _realesrgan_on_run_device():
    """Fix 6: the Real-ESRGAN models' degradation modules and training-pair pool on ``self.device``."""
    import torch
    from basicsr.models import realesrgan_model, realesrnet_model

    for module in (realesrgan_model, realesrnet_model):
        cls = getattr(module, 'RealESRGANModel', None) or module.RealESRNetModel
        module.DiffJPEG = _deferred_cuda(module.DiffJPEG)
        module.USMSharp = _deferred_cuda(module.USMSharp)
        module.filter2D = _contiguous_filter2d(module.filter2D)
        init, enqueue = cls.__init__, cls._dequeue_and_enqueue

        def __init__(self, opt, _init=init):
            _init(self, opt)
            self.jpeger = self.jpeger.to(self.device)
            self.usm_sharpener = self.usm_sharpener.to(self.device)

        def _dequeue_and_enqueue(self, _enqueue=enqueue):
            if not hasattr(self, 'queue_lr'):  # BasicSR would create the pool with .cuda()
                batch = self.lq.size(0)
                if self.queue_size % batch:
                    raise ValueError(f'queue_size {self.queue_size} must be a multiple of the batch size {batch} '
                                     f'(datasets:train:batch_size_per_gpu).')
                self.queue_lr = torch.zeros(self.queue_size, *self.lq.shape[1:], device=self.device)
                self.queue_gt = torch.zeros(self.queue_size, *self.gt.shape[1:], device=self.device)
                self.queue_ptr = 0
            return _enqueue(self)

        cls.__init__ = __init__
        cls._dequeue_and_enqueue = _dequeue_and_enqueue


def apply():
    """Apply every fix once. Safe to call repeatedly."""
    global _APPLIED
    if _APPLIED:
        return
    _alias_functional_tensor()
    import basicsr.train
    import basicsr.utils.options
    from basicsr.models.base_model import BaseModel

    basicsr.train.load_resume_state = load_resume_state
    basicsr.utils.options.ordered_yaml = safe_ordered_yaml
    basicsr.utils.options.init_dist = init_dist
    BaseModel.load_network = load_network
    BaseModel.model_to_device = model_to_device
    _realesrgan_on_run_device()
    _APPLIED = True
