"""Training that never loses work: what ``fasrgan_basicsr/train.py`` adds around BasicSR's ``train_pipeline``.

:func:`install` hooks BasicSR 1.4.2's pipeline at documented seams (its model base class, its
data sampler and prefetchers, and three functions of ``basicsr.train``) without changing its loop:

- **Atomic checkpoints.** ``save_network`` and ``save_training_state`` write through a temporary
  file moved into place (never a truncated ``*.pth``/``*.state`` at a final path) and raise when
  they cannot write (BasicSR logged "Just ignore it"). The training state, written after the
  networks, also carries every random generator's state.
- **Exact resume.** The data sampler skips the samples of the resumed epoch that were already
  trained on (BasicSR replays the epoch from its start) and the generators are restored where the
  saved run left them, just before the resumed epoch draws its first sample. Validation runs with
  its own generator states, so it never shifts the training sequence. With
  ``num_worker_per_gpu: 0`` and no prefetching, N iterations + resume to 2N equals 2N straight,
  bit for bit on CPU; with worker processes the sample order is still exact but augmentations
  drawn in workers are not (BasicSR seeds workers identically every epoch).
- **Graceful interrupt.** SIGINT/SIGTERM make the run save a resumable state at the last
  completed iteration, before it fetches the next batch, and exit (status 130/143). A second
  signal interrupts at once.
- **Divergence guard.** A non-finite logged loss stops training before anything else is saved,
  naming the term and the iteration; the last checkpoint on disk stays the last good one.

In distributed runs all ranks agree on stopping (a small gloo collective per iteration).
"""
import functools
import math
import os
import signal

import basicsr.train as pipeline
import torch
from basicsr.data.data_sampler import EnlargedSampler
from basicsr.data.prefetch_dataloader import CPUPrefetcher, CUDAPrefetcher
from basicsr.models.base_model import BaseModel
from basicsr.utils import get_root_logger
from basicsr.utils.dist_util import master_only

from fasrgan_basicsr.utils import distributed, early_warnings, rng_state
from fasrgan_basicsr.utils.checkpoint import atomic_torch_save, remove_orphan_temporaries
from fasrgan_basicsr.utils.divergence import DivergenceError, divergence_message
from fasrgan_basicsr.utils.early_warnings import take_pending

from .resume_check import check_resumable, continue_elsewhere, refuse_unresumable_run, run_signature

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(Exception):
    """SIGINT/SIGTERM stopped training after saving a resumable state (``saved_iter``, or None)."""

    def __init__(self, signum, saved_iter):
        self.signum, self.saved_iter = signum, saved_iter
        where = f'saved a resumable state at iteration {saved_iter}' if saved_iter else 'nothing new to save'
        super().__init__(f'{signal.Signals(signum).name} received: {where}; continue with --auto_resume.')


class _Session:
    """What the hooks know about the run of this process."""

    def __init__(self):
        self.model = None
        self.epoch = 0
        self.iter = 0
        self.start_iter = 0
        self.stop_signal = None
        self.pending_resume = None


SESSION = _Session()


# -------------------------------------------------------------------------------------------------- saving
@master_only
def save_network(self, net, net_label, current_iter, param_key='params'):
    """``BaseModel.save_network``, written atomically; raises when it cannot write."""
    label = 'latest' if current_iter == -1 else current_iter
    nets = net if isinstance(net, list) else [net]
    keys = param_key if isinstance(param_key, list) else [param_key]
    if len(nets) != len(keys):
        raise ValueError(f'save_network: {len(nets)} networks but {len(keys)} param keys.')
    save_dict = {}
    for net_, key in zip(nets, keys):
        state = self.get_bare_model(net_).state_dict()
        save_dict[key] = {k[7:] if k.startswith('module.') else k: v.cpu() for k, v in state.items()}
    atomic_torch_save(save_dict, os.path.join(self.opt['path']['models'], f'{net_label}_{label}.pth'))


@master_only
def save_training_state(self, epoch, current_iter):
    """``BaseModel.save_training_state`` with the generators' states, written atomically."""
    if current_iter == -1:
        return
    state = {
        'epoch': epoch,
        'iter': current_iter,
        'optimizers': [o.state_dict() for o in self.optimizers],
        'schedulers': [s.state_dict() for s in self.schedulers],
        'rng': rng_state.capture(),
        'run': run_signature(self.opt),  # what a resume checks it continues (resume_check.py)
    }
    if hasattr(self, 'queue_lr'):  # Real-ESRGAN's training-pair pool: part of what the next batches are
        state['training_pair_pool'] = {'lq': _pool_tensor(self.queue_lr), 'gt': _pool_tensor(self.queue_gt),
                                       'ptr': int(self.queue_ptr)}
    atomic_torch_save(state, os.path.join(self.opt['path']['training_states'], f'{current_iter}.state'))


def _pool_tensor(images):
    """A pool of images in [0, 1] on the CPU: as uint8 when that holds them exactly (the pool's LQ are rounded to
    1/255 steps and its GT come from 8-bit files), else as they are."""
    images = images.detach().cpu()
    levels = (images * 255).round()
    return levels.to(torch.uint8) if torch.equal(levels / 255., images) else images


def resume_training(self, resume_state):
    """``BaseModel.resume_training``, then the Real-ESRGAN training-pair pool when the state holds one."""
    _ORIGINAL['resume_training'](self, resume_state)
    pool = resume_state.get('training_pair_pool')
    if pool is not None:
        self.queue_lr, self.queue_gt = ((t.float() / 255. if t.dtype == torch.uint8 else t.float()).to(self.device)
                                        for t in (pool['lq'], pool['gt']))
        self.queue_ptr = pool['ptr']


# -------------------------------------------------------------------------------------------------- resume
class ResumableSampler(EnlargedSampler):
    """BasicSR's ``EnlargedSampler`` that can resume in the middle of an epoch."""

    _resume = None

    def resume(self, epoch, skip_samples, rng):
        self._resume = (epoch, skip_samples, rng)

    def set_epoch(self, epoch):
        super().set_epoch(epoch)
        SESSION.epoch = epoch

    def __iter__(self):
        indices = list(super().__iter__())
        if self._resume is not None and self._resume[0] == self.epoch:
            _, skip, rng = self._resume
            self._resume = None
            indices = indices[skip:]
            if rng is not None:
                rng_state.restore(rng)
        return iter(indices)


def _wrap_load_resume_state(load_resume_state):
    @functools.wraps(load_resume_state)
    def wrapped(opt):
        state = load_resume_state(opt)
        if state is None and opt.get('auto_resume'):
            refuse_unresumable_run(opt, [m for m in early_warnings.PENDING_LOG if m.startswith('skipping ')])
        state_path = (opt.get('path') or {}).get('resume_state')
        if state is not None and state_path:  # before BasicSR archives or builds anything (BasicSR read state_path)
            check_resumable(opt, state, state_path)
            continue_elsewhere(opt, state, state_path)
        SESSION.pending_resume = state
        SESSION.iter = SESSION.start_iter = state['iter'] if state else 0
        return state
    return wrapped


def _wrap_create_dataloaders(create):
    @functools.wraps(create)
    def wrapped(opt, logger):
        result = create(opt, logger)
        train_loader, train_sampler = result[0], result[1]
        state, SESSION.pending_resume = SESSION.pending_resume, None
        if state is not None and isinstance(train_sampler, ResumableSampler):
            done = state['iter'] - state['epoch'] * len(train_loader)
            if 0 <= done <= len(train_loader):
                train_sampler.resume(state['epoch'], done * train_loader.batch_size, state.get('rng'))
                note = '' if 'rng' in state else ' (the state has no generator states: augmentations differ)'
                logger.info(f'Resuming epoch {state["epoch"]} after its first {done} batches{note}.')
            else:
                logger.warning(f'Iteration {state["iter"]} is not in epoch {state["epoch"]} of {len(train_loader)} '
                               'batches (batch size or dataset changed?): the resumed epoch starts from its beginning.')
        return result
    return wrapped


def _wrap_build_model(build_model):
    @functools.wraps(build_model)
    def wrapped(opt):
        SESSION.model = build_model(opt)
        return SESSION.model
    return wrapped


def _wrap_init_tb_loggers(init_tb_loggers):
    """Runs right after BasicSR opened the run's log file: write what happened before it into the log."""
    @functools.wraps(init_tb_loggers)
    def wrapped(opt):
        logger = get_root_logger()
        for message in take_pending():  # (the runner writes them at the log's start; none are left then)
            logger.warning(message)
        if opt.get('rank', 0) == 0:
            for key in ('models', 'training_states'):
                removed = remove_orphan_temporaries(opt['path'][key])
                if removed:
                    logger.warning(f'Removed {len(removed)} temporary file(s) of interrupted saves from '
                                   f'{opt["path"][key]}: {", ".join(removed)}.')
        return init_tb_loggers(opt)
    return wrapped


def validation(self, *args, **kwargs):
    with rng_state.isolated():
        return _ORIGINAL['validation'](self, *args, **kwargs)


# ---------------------------------------------------------------------------------- interrupt, divergence
def update_learning_rate(self, current_iter, warmup_iter=-1):
    SESSION.iter = current_iter  # iteration current_iter starts now
    return _ORIGINAL['update_learning_rate'](self, current_iter, warmup_iter)


def _request_stop(signum, frame):
    SESSION.stop_signal = signum
    for sig in STOP_SIGNALS:  # a second signal interrupts at once
        signal.signal(sig, signal.SIG_DFL if sig != signal.SIGINT else signal.default_int_handler)


def _stop_if_requested():
    if not distributed.agreed(int(SESSION.stop_signal is not None)):
        return
    signum = SESSION.stop_signal or signal.SIGTERM
    saved = None
    if SESSION.model is not None and SESSION.iter > SESSION.start_iter:
        SESSION.model.save(SESSION.epoch, SESSION.iter)
        saved = SESSION.iter
    raise TrainingInterrupted(signum, saved)


def _wrap_next(next_batch):
    @functools.wraps(next_batch)
    def wrapped(self):
        _stop_if_requested()  # the last iteration is complete and the next batch not yet drawn
        return next_batch(self)
    return wrapped


def reduce_loss_dict(self, loss_dict):
    """``BaseModel.reduce_loss_dict``, then stop on a non-finite value (all ranks agree with rank 0)."""
    log = _ORIGINAL['reduce_loss_dict'](self, loss_dict)
    bad = [name for name, value in log.items() if not math.isfinite(value)]
    if distributed.agreed(int(bool(bad)), op='broadcast'):
        raise DivergenceError(divergence_message(bad[0] if bad else '(on rank 0)', SESSION.iter,
                                                 self.opt['path']['models']))
    return log


# ---------------------------------------------------------------------------------------------- install
_ORIGINAL = {}


def install():
    """Install the hooks for this process's training run (idempotent)."""
    if _ORIGINAL:
        return
    _ORIGINAL.update(validation=BaseModel.validation, update_learning_rate=BaseModel.update_learning_rate,
                     reduce_loss_dict=BaseModel.reduce_loss_dict, resume_training=BaseModel.resume_training)
    BaseModel.save_network = save_network
    BaseModel.save_training_state = save_training_state
    BaseModel.validation = validation
    BaseModel.update_learning_rate = update_learning_rate
    BaseModel.reduce_loss_dict = reduce_loss_dict
    BaseModel.resume_training = resume_training
    pipeline.EnlargedSampler = ResumableSampler
    pipeline.load_resume_state = _wrap_load_resume_state(pipeline.load_resume_state)
    pipeline.create_train_val_dataloader = _wrap_create_dataloaders(pipeline.create_train_val_dataloader)
    pipeline.build_model = _wrap_build_model(pipeline.build_model)
    pipeline.init_tb_loggers = _wrap_init_tb_loggers(pipeline.init_tb_loggers)
    for prefetcher in (CPUPrefetcher, CUDAPrefetcher):
        prefetcher.next = _wrap_next(prefetcher.next)
    for sig in STOP_SIGNALS:
        signal.signal(sig, _request_stop)
