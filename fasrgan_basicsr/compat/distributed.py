"""Fix 4: distributed training without CUDA, and each process on ``LOCAL_RANK``'s GPU with it.

BasicSR's ``init_dist`` calls ``torch.cuda.set_device`` (a division by zero without GPUs) with the NCCL backend,
and ``model_to_device`` passes CUDA ``device_ids`` to DistributedDataParallel. Without CUDA these use the gloo
backend and CPU DDP; with CUDA each process takes ``LOCAL_RANK``'s GPU (correct on multi-node torchrun too).
"""
import os

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DataParallel, DistributedDataParallel

from fasrgan_basicsr.utils.distributed import ddp_device_ids


def init_dist(launcher, backend='nccl', **kwargs):
    """Drop-in for ``basicsr.utils.dist_util.init_dist`` that also works without CUDA (gloo)."""
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


def model_to_device(self, net):
    """Drop-in for ``BaseModel.model_to_device``: CPU DistributedDataParallel without ``device_ids``."""
    net = net.to(self.device)
    if self.opt['dist']:
        return DistributedDataParallel(net, device_ids=ddp_device_ids(self.device),
                                       find_unused_parameters=self.opt.get('find_unused_parameters', False))
    if self.opt['num_gpu'] > 1:
        return DataParallel(net)
    return net
