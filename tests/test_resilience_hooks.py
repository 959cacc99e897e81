"""The hooks of utils/resilience.py one by one, in-process on stand-ins (test_resilience.py runs them in train.py)."""
import logging
import os
import random
import signal
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from fasrgan_basicsr.pipeline import resilience
from fasrgan_basicsr.utils import distributed, rng_state
from fasrgan_basicsr.utils.divergence import divergence_message


@pytest.fixture
def session(monkeypatch):
    """A fresh ``SESSION`` for the hooks under test."""
    fresh = resilience._Session()
    monkeypatch.setattr(resilience, 'SESSION', fresh)
    return fresh


@pytest.fixture
def logged():
    """A logger at INFO level and the records it received."""
    logger = logging.getLogger('test_resilience_hooks')
    logger.setLevel(logging.INFO)
    recorder = Recorder()
    logger.addHandler(recorder)
    yield logger, recorder.records
    logger.removeHandler(recorder)


@pytest.fixture
def original(monkeypatch):
    """``_ORIGINAL`` of a process where :func:`install` did not run; tests put the wrapped functions in it."""
    replaced = {}
    monkeypatch.setattr(resilience, '_ORIGINAL', replaced)
    return replaced


class Recorder(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append((record.levelname, record.getMessage()))


# ---------------------------------------------------------------------------------------------- messages
def test_training_interrupted_says_what_was_saved_and_how_to_continue():
    assert str(resilience.TrainingInterrupted(signal.SIGTERM, 12)) == \
        'SIGTERM received: saved a resumable state at iteration 12; continue with --auto_resume.'
    assert str(resilience.TrainingInterrupted(signal.SIGINT, None)) == \
        'SIGINT received: nothing new to save; continue with --auto_resume.'
    err = resilience.TrainingInterrupted(signal.SIGTERM, 12)
    assert (err.signum, err.saved_iter) == (signal.SIGTERM, 12)


def test_divergence_message_names_term_iteration_and_folder():
    assert divergence_message('l_g_gan', 7, '/x/models') == (
        'loss term l_g_gan became non-finite at iteration 7: training stopped before saving anything. '
        'The newest checkpoint in /x/models is the last good one.')


def test_a_fresh_session_knows_nothing_yet():
    fresh = resilience._Session()
    assert (fresh.model, fresh.epoch, fresh.iter, fresh.start_iter, fresh.stop_signal, fresh.pending_resume) == (
        None, 0, 0, 0, None, None)


def test_a_single_process_agrees_with_itself():
    agreed = distributed.Agreement()
    assert agreed(0) == 0 and agreed(1) == 1 and agreed(1, op='broadcast') == 1
    assert agreed.group is None  # no process group made outside distributed runs


class TwoRanks:
    """``torch.distributed`` as this process (``rank``) sees it with one other rank whose flag is ``other``."""
    ReduceOp = torch.distributed.ReduceOp

    def __init__(self, rank, other):
        self.rank, self.other, self.groups = rank, other, []

    def is_available(self):
        return True

    def is_initialized(self):
        return True

    def new_group(self, backend=None):
        assert str(backend).lower() == 'gloo'  # the flags are CPU tensors: NCCL could not carry them
        self.groups.append(object())
        return self.groups[-1]

    def all_reduce(self, tensor, op=torch.distributed.ReduceOp.SUM, group=None):
        assert group is self.groups[-1]
        both = torch.stack([tensor, torch.full_like(tensor, self.other)])
        tensor.copy_({self.ReduceOp.SUM: both.sum(0), self.ReduceOp.MAX: both.amax(0),
                      self.ReduceOp.MIN: both.amin(0)}[op])

    def broadcast(self, tensor, src, group=None):
        assert group is self.groups[-1] and src in (0, 1)
        if src != self.rank:
            tensor.fill_(self.other)


@pytest.mark.parametrize('own, other', [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_ranks_stop_when_any_of_them_asks(monkeypatch, own, other):
    fake, agreed = TwoRanks(rank=0, other=other), distributed.Agreement()
    monkeypatch.setattr(distributed, 'dist', fake)
    assert agreed(own) == max(own, other)
    assert agreed(own, op='max') == max(own, other)
    assert len(fake.groups) == 1 and agreed.group is fake.groups[0]  # made once, then reused


@pytest.mark.parametrize('own, rank_0', [(0, 1), (1, 0)])
def test_ranks_follow_rank_0_on_a_broadcast(monkeypatch, own, rank_0):
    monkeypatch.setattr(distributed, 'dist', TwoRanks(rank=1, other=rank_0))
    assert distributed.Agreement()(own, op='broadcast') == rank_0


# ------------------------------------------------------------------------------------------------ saving
class StandInModel:
    def __init__(self, root):
        self.opt = {'path': {'models': str(root / 'models'), 'training_states': str(root / 'states')}}
        (root / 'models').mkdir()
        (root / 'states').mkdir()
        self.optimizers = [SimpleNamespace(state_dict=lambda: {'lr': 0.1})]
        self.schedulers = [SimpleNamespace(state_dict=lambda: {'milestones': [3]})]

    def get_bare_model(self, net):
        return net.module if isinstance(net, torch.nn.DataParallel) else net


def test_save_network_writes_plain_keys_of_each_network_under_its_param_key(tmp_path):
    model = StandInModel(tmp_path)
    net, ema = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    resilience.save_network(model, [torch.nn.DataParallel(net), ema], 'net_g', 5, param_key=['params', 'params_ema'])
    saved = torch.load(tmp_path / 'models' / 'net_g_5.pth', weights_only=True)
    assert sorted(saved) == ['params', 'params_ema']
    assert sorted(saved['params']) == ['bias', 'weight']  # no module. prefix
    assert torch.equal(saved['params']['weight'], net.weight) and torch.equal(saved['params_ema']['bias'], ema.bias)
    resilience.save_network(model, net, 'net_d', -1)
    assert sorted(torch.load(tmp_path / 'models' / 'net_d_latest.pth', weights_only=True)) == ['params']
    with pytest.raises(ValueError, match=r'^save_network: 2 networks but 1 param keys\.$'):
        resilience.save_network(model, [net, ema], 'net_g', 6, param_key=['params'])
    assert sorted(p.name for p in (tmp_path / 'models').iterdir()) == ['net_d_latest.pth', 'net_g_5.pth']


def test_save_network_strips_only_a_leading_module_prefix(tmp_path):
    class Wrapped(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.module = torch.nn.Linear(1, 1)

    model = StandInModel(tmp_path)
    resilience.save_network(model, Wrapped(), 'net_g', 1)
    assert sorted(torch.load(tmp_path / 'models' / 'net_g_1.pth', weights_only=True)['params']) == ['bias', 'weight']


def test_save_training_state_carries_the_generators_and_skips_the_final_save(tmp_path):
    model = StandInModel(tmp_path)
    torch.manual_seed(3)
    resilience.save_training_state(model, 2, 9)
    state = torch.load(tmp_path / 'states' / '9.state', weights_only=True)
    assert (state['epoch'], state['iter']) == (2, 9)
    assert state['optimizers'] == [{'lr': 0.1}] and state['schedulers'] == [{'milestones': [3]}]
    expected = torch.rand(2)
    rng_state.restore(state['rng'])
    assert torch.equal(torch.rand(2), expected)
    resilience.save_training_state(model, 2, -1)  # BasicSR's "latest" save at the end: no state
    assert [p.name for p in (tmp_path / 'states').iterdir()] == ['9.state']


# ------------------------------------------------------------------------------------------------ resume
def sampler(n=6):
    return resilience.ResumableSampler(list(range(n)), num_replicas=1, rank=0, ratio=1)


def test_the_sampler_skips_the_trained_part_of_the_resumed_epoch_only_once(session):
    full = {epoch: list(_iterate(sampler(), epoch)) for epoch in (0, 1)}
    s = sampler()
    s.resume(1, 4, None)
    assert list(_iterate(s, 0)) == full[0]  # another epoch: untouched, and the resume still pending
    assert session.epoch == 0
    assert list(_iterate(s, 1)) == full[1][4:]
    assert session.epoch == 1
    assert list(_iterate(s, 1)) == full[1]  # the next pass over the same epoch is whole again


def _iterate(s, epoch):
    s.set_epoch(epoch)
    return iter(s)


def test_the_sampler_restores_the_generators_where_the_saved_run_drew_its_next_sample(session):
    torch.manual_seed(11)
    random.seed(11)
    np.random.seed(11)
    saved = rng_state.capture()
    expected = (torch.rand(1).item(), random.random(), float(np.random.rand()))
    s = sampler()
    s.resume(0, 2, saved)
    s.set_epoch(0)
    torch.rand(100)  # what this process drew before the resumed epoch starts
    iter(s)
    assert (torch.rand(1).item(), random.random(), float(np.random.rand())) == expected


def test_load_resume_state_is_remembered_for_the_dataloaders(session):
    state = {'iter': 12, 'epoch': 1}
    opt = {'path': {}}
    assert resilience._wrap_load_resume_state(lambda o: state if o is opt else None)(opt) is state
    assert session.pending_resume is state and (session.iter, session.start_iter) == (12, 12)
    assert resilience._wrap_load_resume_state(lambda opt: None)({}) is None
    assert session.pending_resume is None and (session.iter, session.start_iter) == (0, 0)


OPT = {'datasets': {}}


def _loaders(num_batches, batch_size, sampler_):
    loader = type('Loader', (), {'__len__': lambda self: num_batches, 'batch_size': batch_size})()

    def create(opt, logger):
        assert opt is OPT and isinstance(logger, logging.Logger)
        return loader, sampler_, ['val'], 10, 100
    return create


@pytest.mark.parametrize('done', [0, 3, 4])
def test_the_resumed_epoch_continues_after_the_batches_already_trained(session, logged, done):
    s = sampler(8)
    session.pending_resume = {'iter': 2 * 4 + done, 'epoch': 2, 'rng': {'saved': 1}}
    result = resilience._wrap_create_dataloaders(_loaders(4, 2, s))(OPT, logged[0])
    assert result[1] is s and result[2:] == (['val'], 10, 100)
    assert s._resume == (2, done * 2, {'saved': 1}) and session.pending_resume is None
    assert logged[1] == [('INFO', f'Resuming epoch 2 after its first {done} batches.')]


def test_a_state_without_generators_resumes_with_a_note(session, logged):
    s = sampler(8)
    session.pending_resume = {'iter': 9, 'epoch': 2}
    resilience._wrap_create_dataloaders(_loaders(4, 2, s))(OPT, logged[0])
    assert s._resume == (2, 2, None)
    assert logged[1] == [('INFO', 'Resuming epoch 2 after its first 1 batches (the state has no generator '
                                         'states: augmentations differ).')]


@pytest.mark.parametrize('it', [7, 13])
def test_an_iteration_outside_its_epoch_restarts_the_epoch_with_a_warning(session, logged, it):
    s = sampler(8)
    session.pending_resume = {'iter': it, 'epoch': 2, 'rng': None}
    resilience._wrap_create_dataloaders(_loaders(4, 2, s))(OPT, logged[0])
    assert s._resume is None
    assert logged[1] == [('WARNING', f'Iteration {it} is not in epoch 2 of 4 batches (batch size or dataset '
                                            'changed?): the resumed epoch starts from its beginning.')]


def test_no_resume_without_a_state_or_with_another_sampler(session):
    s = sampler(8)
    resilience._wrap_create_dataloaders(_loaders(4, 2, s))(OPT, logging.getLogger('x'))
    assert s._resume is None
    session.pending_resume = {'iter': 9, 'epoch': 2}
    resilience._wrap_create_dataloaders(_loaders(4, 2, object()))(OPT, logging.getLogger('x'))
    assert session.pending_resume is None


def test_the_built_model_is_known_to_the_session(session):
    model, opt = object(), {'model_type': 'x'}
    assert resilience._wrap_build_model(lambda o: model if o is opt else None)(opt) is model
    assert session.model is model


def test_the_log_gets_pending_messages_and_orphan_temporaries_are_removed(tmp_path, monkeypatch):
    from basicsr.utils import get_root_logger

    from fasrgan_basicsr.utils import early_warnings

    models, states = tmp_path / 'models', tmp_path / 'states'
    models.mkdir()
    states.mkdir()
    (models / '.net_g_4.pth.0a0b0c0d.tmp').write_bytes(b'half')
    (models / '.net_d_4.pth.0a0b0c0d.tmp').write_bytes(b'half')
    (models / 'net_g_2.pth').write_bytes(b'whole')
    monkeypatch.setattr(early_warnings, 'PENDING_LOG', ['a note from before the log existed'])
    recorder = Recorder()
    get_root_logger().addHandler(recorder)
    opt = {'path': {'models': str(models), 'training_states': str(states)}}  # no rank: not distributed
    temporaries = [name for name in os.listdir(models) if name.endswith('.tmp')]  # in the order they are found
    try:
        assert resilience._wrap_init_tb_loggers(lambda o: ('tb', o))(opt) == ('tb', opt)
    finally:
        get_root_logger().removeHandler(recorder)
    assert recorder.records == [
        ('WARNING', 'a note from before the log existed'),
        ('WARNING', f'Removed 2 temporary file(s) of interrupted saves from {models}: '
                    f'{temporaries[0]}, {temporaries[1]}.')]
    assert early_warnings.PENDING_LOG == [] and [p.name for p in models.iterdir()] == ['net_g_2.pth']


def test_only_rank_0_removes_orphan_temporaries(tmp_path):
    (tmp_path / '.net_g_4.pth.0a0b0c0d.tmp').write_bytes(b'half')
    opt = {'rank': 1, 'path': {'models': str(tmp_path), 'training_states': str(tmp_path)}}
    resilience._wrap_init_tb_loggers(lambda o: None)(opt)
    assert [p.name for p in tmp_path.iterdir()] == ['.net_g_4.pth.0a0b0c0d.tmp']


# -------------------------------------------------------------------------------------------- validation
def test_validation_runs_with_its_own_generator_states(original):
    seen = []

    def drawing_validation(self, *args, **kwargs):
        seen.append((self, args, kwargs))
        torch.rand(10)
        random.random()
        np.random.rand()
        return 'metrics'

    original['validation'] = drawing_validation
    torch.manual_seed(5)
    random.seed(5)
    np.random.seed(5)
    expected = (torch.rand(1).item(), random.random(), float(np.random.rand()))
    torch.manual_seed(5)
    random.seed(5)
    np.random.seed(5)
    assert resilience.validation('model', 'loader', 4, save_img=False) == 'metrics'
    assert seen == [('model', ('loader', 4), {'save_img': False})]
    assert (torch.rand(1).item(), random.random(), float(np.random.rand())) == expected


# ----------------------------------------------------------------------------------- interrupt, divergence
def test_update_learning_rate_marks_the_iteration_that_starts(session, original):
    calls = []
    original['update_learning_rate'] = lambda self, it, warmup_iter=-1: calls.append((self, it, warmup_iter)) or 'ok'
    assert resilience.update_learning_rate('model', 8, warmup_iter=2) == 'ok'
    assert session.iter == 8 and calls == [('model', 8, 2)]
    resilience.update_learning_rate('model', 9)
    assert calls[-1] == ('model', 9, -1)


@pytest.fixture
def stop_handlers():
    saved = {sig: signal.getsignal(sig) for sig in resilience.STOP_SIGNALS}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_a_first_signal_asks_to_stop_and_makes_the_next_one_stop_at_once(session, stop_handlers):
    assert set(resilience.STOP_SIGNALS) == {signal.SIGINT, signal.SIGTERM}
    resilience._request_stop(signal.SIGTERM, None)
    assert session.stop_signal == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # terminate
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # KeyboardInterrupt


def test_a_stop_before_the_first_iteration_of_a_fresh_run_saves_nothing(session):
    saves = []
    session.model = SimpleNamespace(save=lambda epoch, it: saves.append(it))
    session.stop_signal = signal.SIGINT
    with pytest.raises(resilience.TrainingInterrupted) as caught:
        resilience._stop_if_requested()
    assert saves == [] and caught.value.saved_iter is None
    session.iter = 1  # iteration 1 completed, epoch still 0
    saves_with_epoch = []
    session.model = SimpleNamespace(save=lambda epoch, it: saves_with_epoch.append((epoch, it)))
    with pytest.raises(resilience.TrainingInterrupted):
        resilience._stop_if_requested()
    assert saves_with_epoch == [(0, 1)]


def test_no_stop_without_a_signal(session):
    assert resilience._stop_if_requested() is None


def test_a_stop_saves_the_completed_iteration(session):
    saves = []
    session.model = SimpleNamespace(save=lambda epoch, it: saves.append((epoch, it)))
    session.epoch, session.iter, session.start_iter, session.stop_signal = 3, 17, 10, signal.SIGINT
    with pytest.raises(resilience.TrainingInterrupted) as caught:
        resilience._stop_if_requested()
    assert saves == [(3, 17)] and (caught.value.signum, caught.value.saved_iter) == (signal.SIGINT, 17)


@pytest.mark.parametrize('has_model', [True, False])
def test_a_stop_before_any_new_iteration_saves_nothing(session, has_model):
    saves = []
    session.model = SimpleNamespace(save=lambda epoch, it: saves.append(it)) if has_model else None
    session.iter = session.start_iter = 10
    session.stop_signal = signal.SIGTERM
    with pytest.raises(resilience.TrainingInterrupted) as caught:
        resilience._stop_if_requested()
    assert saves == [] and caught.value.saved_iter is None and caught.value.signum == signal.SIGTERM


def test_a_stop_agreed_on_another_rank_is_taken_as_sigterm(session, monkeypatch):
    monkeypatch.setattr(distributed, 'agreed', lambda flag, op='max': 1)
    with pytest.raises(resilience.TrainingInterrupted) as caught:
        resilience._stop_if_requested()
    assert caught.value.signum == signal.SIGTERM


def test_the_stop_is_checked_before_the_next_batch_is_drawn(session):
    drawn = []
    next_batch = resilience._wrap_next(lambda self: drawn.append(self) or 'batch')
    assert next_batch('prefetcher') == 'batch' and drawn == ['prefetcher']
    session.stop_signal = signal.SIGINT
    with pytest.raises(resilience.TrainingInterrupted):
        next_batch('prefetcher')
    assert drawn == ['prefetcher']


def test_a_non_finite_logged_loss_stops_naming_the_first_such_term(session, original, tmp_path):
    model = SimpleNamespace(opt={'path': {'models': str(tmp_path)}})
    original['reduce_loss_dict'] = lambda self, d: dict(d) if self is model else None
    session.iter = 6
    log = {'l_g_pix': 0.5, 'l_g_gan': 0.1}
    assert resilience.reduce_loss_dict(model, log) == log
    with pytest.raises(resilience.DivergenceError) as caught:
        resilience.reduce_loss_dict(model, {'l_g_pix': 0.5, 'l_g_gan': float('inf'), 'l_d_real': float('nan')})
    assert str(caught.value) == divergence_message('l_g_gan', 6, str(tmp_path))


def test_a_divergence_on_rank_0_stops_the_other_ranks_too(session, original, monkeypatch, tmp_path):
    original['reduce_loss_dict'] = lambda self, d: dict(d)
    ops = []
    monkeypatch.setattr(distributed, 'agreed', lambda flag, op='max': ops.append((flag, op)) or 1)
    with pytest.raises(resilience.DivergenceError, match='loss term \\(on rank 0\\) became non-finite'):
        resilience.reduce_loss_dict(SimpleNamespace(opt={'path': {'models': str(tmp_path)}}), {'l_g_pix': 0.5})
    assert ops == [(0, 'broadcast')]


# ----------------------------------------------------------------------------------------------- install
def test_install_hooks_basicsr_once(monkeypatch, session, original, stop_handlers):
    import basicsr.train as pipeline
    from basicsr.data.prefetch_dataloader import CPUPrefetcher, CUDAPrefetcher
    from basicsr.models.base_model import BaseModel

    from fasrgan_basicsr.utils import early_warnings

    for name in ('save_network', 'save_training_state', 'validation', 'update_learning_rate', 'reduce_loss_dict',
                 'resume_training'):
        monkeypatch.setattr(BaseModel, name, getattr(BaseModel, name))
    calls = []
    model, state, loaders = object(), {'iter': 0, 'epoch': 0}, (None, None, [], 1, 1)
    fakes = {'load_resume_state': lambda opt: calls.append(('load_resume_state', opt)) or state,
             'create_train_val_dataloader': lambda opt, logger: calls.append(('create', opt)) or loaders,
             'build_model': lambda opt: calls.append(('build_model', opt)) or model,
             'init_tb_loggers': lambda opt: calls.append(('init_tb_loggers', opt)) or 'tb'}
    monkeypatch.setattr(pipeline, 'EnlargedSampler', pipeline.EnlargedSampler)
    for name, fake in fakes.items():
        monkeypatch.setattr(pipeline, name, fake)
    for prefetcher in (CPUPrefetcher, CUDAPrefetcher):
        monkeypatch.setattr(prefetcher, 'next', lambda self: calls.append(('next', self)) or 'batch')
    monkeypatch.setattr(early_warnings, 'PENDING_LOG', [])
    before = {'validation': BaseModel.validation, 'update_learning_rate': BaseModel.update_learning_rate,
              'reduce_loss_dict': BaseModel.reduce_loss_dict, 'resume_training': BaseModel.resume_training}

    resilience.install()
    assert original == before
    assert BaseModel.save_network is resilience.save_network
    assert BaseModel.save_training_state is resilience.save_training_state
    assert BaseModel.validation is resilience.validation
    assert BaseModel.update_learning_rate is resilience.update_learning_rate
    assert BaseModel.reduce_loss_dict is resilience.reduce_loss_dict
    assert BaseModel.resume_training is resilience.resume_training
    assert pipeline.EnlargedSampler is resilience.ResumableSampler
    assert all(signal.getsignal(sig) is resilience._request_stop for sig in resilience.STOP_SIGNALS)
    # each hook of the pipeline calls what it replaced
    opt = {'rank': 1, 'path': {}}
    assert pipeline.load_resume_state(opt) is state and session.pending_resume is state
    assert pipeline.create_train_val_dataloader(opt, logging.getLogger('x')) is loaders
    assert pipeline.build_model(opt) is model and session.model is model
    assert pipeline.init_tb_loggers(opt) == 'tb'
    assert CPUPrefetcher.next('cpu') == 'batch' and CUDAPrefetcher.next('cuda') == 'batch'
    assert calls == [('load_resume_state', opt), ('create', opt), ('build_model', opt), ('init_tb_loggers', opt),
                     ('next', 'cpu'), ('next', 'cuda')]

    hooked = (pipeline.build_model, CPUPrefetcher.next, BaseModel.validation)
    resilience.install()  # a second call changes nothing (no hook wrapped twice)
    assert (pipeline.build_model, CPUPrefetcher.next, BaseModel.validation) == hooked and original == before


def test_the_pool_is_saved_in_8_bits_only_when_that_holds_it_exactly():
    exact = torch.tensor([0, 1, 128, 254, 255], dtype=torch.uint8).float() / 255.
    saved = resilience._pool_tensor(exact)
    assert saved.dtype == torch.uint8 and torch.equal(saved.float() / 255., exact)
    inexact = torch.tensor([0.0, 0.5, 1.0])  # 0.5 lies between two 8-bit levels
    assert resilience._pool_tensor(inexact).dtype == torch.float32
    assert torch.equal(resilience._pool_tensor(inexact), inexact)


def test_real_esrgans_training_pair_pool_round_trips_through_the_training_state(tmp_path, monkeypatch):
    """The pool (``queue_lr``/``queue_gt``/``queue_ptr``) is saved with the state and restored on resume, after
    BaseModel's own resume (a recorder here): 8-bit images in uint8, others as they are, both back as float on the
    model's device; a state without a pool restores none."""
    resumed = []
    monkeypatch.setitem(resilience._ORIGINAL, 'resume_training', lambda self, state: resumed.append((self, state)))
    lq = torch.tensor([0, 3, 128, 255], dtype=torch.uint8).float().div(255.).view(1, 1, 2, 2)
    gt = torch.tensor([0.5, 0.25, 1.0, 0.0]).view(1, 1, 2, 2)  # 0.5 and 0.25 are no 8-bit levels
    model = SimpleNamespace(optimizers=[], schedulers=[], opt={'path': {'training_states': str(tmp_path)}},
                            queue_lr=lq, queue_gt=gt, queue_ptr=torch.tensor(3))
    resilience.save_training_state(model, 0, 7)
    state = torch.load(tmp_path / '7.state', weights_only=True)
    pool = state['training_pair_pool']
    assert (pool['lq'].dtype, pool['gt'].dtype, pool['ptr']) == (torch.uint8, torch.float32, 3)
    assert pool['lq'].flatten().tolist() == [0, 3, 128, 255]
    restored = SimpleNamespace(optimizers=[], schedulers=[], device=torch.device('cpu'))
    resilience.resume_training(restored, state)
    assert resumed == [(restored, state)]
    assert torch.equal(restored.queue_lr, lq) and torch.equal(restored.queue_gt, gt) and restored.queue_ptr == 3
    assert restored.queue_lr.dtype == restored.queue_gt.dtype == torch.float32
    elsewhere = SimpleNamespace(optimizers=[], schedulers=[], device=torch.device('meta'))  # a device not the CPU
    resilience.resume_training(elsewhere, state)
    assert elsewhere.queue_lr.device == elsewhere.queue_gt.device == torch.device('meta')
    del state['training_pair_pool']
    plain = SimpleNamespace(optimizers=[], schedulers=[], device=torch.device('cpu'))
    resilience.resume_training(plain, state)
    assert not hasattr(plain, 'queue_lr') and not hasattr(plain, 'queue_ptr')
