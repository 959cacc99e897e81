"""Training never loses work: exact resume, atomic checkpoints, graceful interrupt, divergence guard."""
import copy
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from conftest import REPO, build_training_model, run_entry, tiny_options

FS_G = {'type': 'FsRRDBNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_shared_block': 1, 'num_block': 1,
        'num_grow_ch': 4}
MODELS = {
    'FASRGANModel': {},
    'FsSRGANModel': dict(network_g=FS_G, network_d={'type': 'VGGFeatureDiscriminator', 'num_in_ch': 8,
                                                    'num_feat': 4, 'input_size': 32},
                         map_gan_opt=None, attention_opt=None),
    'FAFsSRGANModel': dict(network_g=FS_G, network_d={'type': 'UNetDiscriminatorFA', 'num_in_ch': 8, 'num_feat': 4,
                                                      'input_size': 32}),
}


def weights(root, name, it):
    return {f: torch.load(root / 'experiments' / name / 'models' / f'{f}_{it}.pth', weights_only=True)
            for f in ('net_g', 'net_d')}


def assert_identical(a, b):
    for net in a:
        assert a[net].keys() == b[net].keys()
        for key in a[net]:
            for name, tensor in a[net][key].items():
                assert torch.equal(tensor, b[net][key][name]), f'{net}/{key}/{name} differs'


def opts(data, name, model_type, total_iter, **extra):
    opt = tiny_options(data, name=name, model_type=model_type, total_iter=total_iter, **MODELS[model_type], **extra)
    opt['logger']['save_checkpoint_freq'] = 3
    opt['val']['val_freq'] = 3
    return opt


@pytest.mark.parametrize('model_type', list(MODELS))
def test_resume_mid_epoch_is_bit_identical_to_training_straight(tiny_data, tmp_path, model_type):
    # 2 photos × enlarge 4 / batch 2 = 4 batches per epoch: stopping at 3 resumes in the middle of epoch 0
    run_entry('train.py', opts(tiny_data, 'straight', model_type, 6), tmp_path / 'a')
    run_entry('train.py', opts(tiny_data, 'split', model_type, 3), tmp_path / 'b')
    run_entry('train.py', opts(tiny_data, 'split', model_type, 6), tmp_path / 'b', '--auto_resume')
    log = sorted((tmp_path / 'b' / 'experiments' / 'split').glob('train_*.log'))[-1].read_text()
    assert 'Resuming epoch 0 after its first 3 batches.' in log
    straight, resumed = weights(tmp_path / 'a', 'straight', 6), weights(tmp_path / 'b', 'split', 6)
    assert set(straight['net_g']) == {'params', 'params_ema'}  # EMA included
    assert_identical(straight, resumed)
    state_a = torch.load(tmp_path / 'a/experiments/straight/training_states/6.state', weights_only=True)
    state_b = torch.load(tmp_path / 'b/experiments/split/training_states/6.state', weights_only=True)
    assert state_a['schedulers'] == state_b['schedulers']  # learning-rate schedule continued


def _runner(tmp_path, patch):
    """A script running the real train.py after ``patch`` (Python source) ran in the same process."""
    script = tmp_path / 'runner.py'
    script.write_text(f'import runpy, sys\nimport fasrgan_basicsr\n{patch}\n'
                      f'sys.argv = [sys.argv[0]] + sys.argv[1:]\n'
                      f'runpy.run_path({str(REPO / "fasrgan_basicsr" / "train.py")!r}, run_name="__main__")\n')
    return script


def _run(script, opt, root, *args):
    root.mkdir(parents=True, exist_ok=True)
    (root / 'opt.yml').write_text(yaml.safe_dump(opt, sort_keys=False))
    return subprocess.run([sys.executable, str(script), '-opt', str(root / 'opt.yml'), *args], cwd=root,
                          env=dict(os.environ, FASRGAN_ROOT=str(root)), capture_output=True, text=True, timeout=300)


def test_a_save_killed_mid_write_leaves_the_previous_checkpoint_and_auto_resume_continues(tiny_data, tmp_path):
    # the 4th save (net_g_6: after net_g_3, net_d_3, state 3) writes half a file, then the disk is "full"
    script = _runner(tmp_path, '''
import torch
calls = {'n': 0}
real_save = torch.save
def failing_save(obj, f, *a, **k):
    calls['n'] += 1
    if calls['n'] == 4:
        f.write(b'half a checkpoint')
        raise OSError(28, 'No space left on device')
    return real_save(obj, f, *a, **k)
torch.save = failing_save
''')
    opt = opts(tiny_data, 'killed', 'FASRGANModel', 9)
    proc = _run(script, opt, tmp_path)
    assert proc.returncode != 0 and 'No space left on device' in proc.stderr
    exp = tmp_path / 'experiments' / 'killed'
    assert sorted(p.name for p in (exp / 'models').iterdir()) == ['net_d_3.pth', 'net_g_3.pth']  # no partial files
    assert sorted(p.name for p in (exp / 'training_states').iterdir()) == ['3.state']
    good = weights(tmp_path, 'killed', 3)

    run_entry('train.py', opt, tmp_path, '--auto_resume')
    log = sorted(exp.glob('train_*.log'))[-1].read_text()
    assert 'Resuming training from epoch: 0, iter: 3.' in log and re.search(r'iter:\s+9,', log)
    assert_identical(good, weights(tmp_path, 'killed', 3))  # untouched
    # and the result is the run that never failed
    run_entry('train.py', opts(tiny_data, 'clean', 'FASRGANModel', 9), tmp_path / 'clean')
    assert_identical(weights(tmp_path / 'clean', 'clean', 9), weights(tmp_path, 'killed', 9))


def test_auto_resume_skips_a_truncated_latest_state(tiny_data, tmp_path):
    opt = opts(tiny_data, 'trunc', 'FASRGANModel', 6)
    run_entry('train.py', opt, tmp_path)
    states = tmp_path / 'experiments' / 'trunc' / 'training_states'
    (states / '6.state').write_bytes((states / '6.state').read_bytes()[:100])  # e.g. a pre-atomic save cut short
    opt['train']['total_iter'] = 7
    proc = run_entry('train.py', opt, tmp_path, '--auto_resume')
    assert 'skipping' in proc.stderr and '6.state' in proc.stderr
    log = sorted((tmp_path / 'experiments' / 'trunc').glob('train_*.log'))[-1].read_text()
    assert 'Resuming training from epoch: 0, iter: 3.' in log


def test_sigint_saves_a_resumable_state_that_continues_exactly(tiny_data, tmp_path):
    opt = opts(tiny_data, 'interrupted', 'FASRGANModel', 100000)
    opt['logger']['save_checkpoint_freq'] = 100000
    opt['val']['val_freq'] = 100000
    (tmp_path / 'opt.yml').write_text(yaml.safe_dump(opt, sort_keys=False))
    proc = subprocess.Popen([sys.executable, str(REPO / 'fasrgan_basicsr' / 'train.py'), '-opt', 'opt.yml'],
                            cwd=tmp_path, env=dict(os.environ, FASRGAN_ROOT=str(tmp_path)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    exp = tmp_path / 'experiments' / 'interrupted'
    deadline = time.time() + 120
    while time.time() < deadline:
        logs = list(exp.glob('train_*.log'))
        if logs and re.search(r'iter:\s+4,', logs[0].read_text()):
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    saved = int(re.search(r'saved a resumable state at iteration (\d+)', err).group(1))
    assert saved >= 4 and 'Traceback' not in err
    assert (exp / 'training_states' / f'{saved}.state').is_file()
    message = f'SIGINT received: saved a resumable state at iteration {saved}; continue with --auto_resume.'
    assert message in sorted(exp.glob('train_*.log'))[-1].read_text()  # the run's log says why it ended

    target = saved + 2
    resumed = copy.deepcopy(opt)
    resumed['train']['total_iter'] = target
    resumed['logger']['save_checkpoint_freq'] = target
    run_entry('train.py', resumed, tmp_path, '--auto_resume')
    straight = copy.deepcopy(resumed)
    straight['name'] = 'uninterrupted'
    run_entry('train.py', straight, tmp_path / 'u')
    assert_identical(weights(tmp_path / 'u', 'uninterrupted', target), weights(tmp_path, 'interrupted', target))


def test_validation_that_draws_random_numbers_leaves_the_training_sequence_unchanged(tiny_data, tmp_path):
    # the README's promise: validation never shifts the training random sequence. Here validation draws from
    # Python's, NumPy's and torch's generators (a metric), and training draws from torch's too (noise on the
    # inputs, as Real-ESRGAN's degradations do) besides the crops and flips drawn from Python's
    script = _runner(tmp_path, '''
import random
import numpy as np
import torch
from basicsr.utils.registry import METRIC_REGISTRY
from fasrgan_basicsr.models.fasrgan_model import FASRGANModel

@METRIC_REGISTRY.register()
def calculate_random_draws(img, img2, **kwargs):
    return random.random() + float(np.random.rand()) + torch.rand(1).item()

real_feed_data = FASRGANModel.feed_data
def feed_data(self, data):
    real_feed_data(self, data)
    self.lq = self.lq + 0.01 * torch.rand_like(self.lq)
FASRGANModel.feed_data = feed_data
''')
    runs = {}
    for name, val_freq in (('validated', 2), ('unvalidated', 100)):
        opt = opts(tiny_data, name, 'FASRGANModel', 4)
        opt['logger']['save_checkpoint_freq'] = 4
        opt['val'].update(val_freq=val_freq, metrics={'draws': {'type': 'calculate_random_draws'}})
        proc = _run(script, opt, tmp_path / name)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs[name] = weights(tmp_path / name, name, 4)
    log = sorted((tmp_path / 'validated' / 'experiments' / 'validated').glob('train_*.log'))[-1].read_text()
    assert log.count('Validation tiny_val') == 3  # after iterations 2 and 4, and BasicSR's at the end
    assert_identical(runs['validated'], runs['unvalidated'])


# Iteration 3 of these runs waits (after its step) until the test creates <dir>/release, and says where it is:
# <dir>/in_iteration_3 once it waits, <dir>/stop_requested once the signal handler has run.
PAUSE_AT_ITERATION_3 = '''
import os, pathlib, time
from fasrgan_basicsr.models.fasrgan_model import FASRGANModel
from fasrgan_basicsr.pipeline import resilience
real_step = FASRGANModel.optimize_parameters
def step(self, current_iter):
    real_step(self, current_iter)
    if current_iter == 3:
        where = pathlib.Path(os.environ['PAUSE_DIR'])
        (where / 'in_iteration_3').touch()
        deadline = time.time() + 120
        while not (where / 'release').exists() and time.time() < deadline:
            if resilience.SESSION.stop_signal is not None:
                (where / 'stop_requested').touch()
            time.sleep(0.02)
FASRGANModel.optimize_parameters = step
'''


def _start_paused_run(tiny_data, tmp_path, name):
    script = _runner(tmp_path, PAUSE_AT_ITERATION_3)
    opt = opts(tiny_data, name, 'FASRGANModel', 100)
    opt['logger']['save_checkpoint_freq'] = opt['val']['val_freq'] = 100
    (tmp_path / 'opt.yml').write_text(yaml.safe_dump(opt, sort_keys=False))
    pause = tmp_path / 'pause'
    pause.mkdir()
    proc = subprocess.Popen([sys.executable, str(script), '-opt', 'opt.yml'], cwd=tmp_path,
                            env=dict(os.environ, FASRGAN_ROOT=str(tmp_path), PAUSE_DIR=str(pause)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, pause


def _wait_for(proc, path, timeout=180):
    deadline = time.time() + timeout
    while not path.exists():
        if proc.poll() is not None:
            tail = proc.stderr.read()[-3000:]
            raise AssertionError(f'train.py ended ({proc.returncode}) before {path.name}:\n{tail}')
        assert time.time() < deadline, f'no {path.name} after {timeout} s'
        time.sleep(0.05)


def test_sigterm_saves_the_completed_iteration_logs_why_and_exits_143(tiny_data, tmp_path):
    proc, pause = _start_paused_run(tiny_data, tmp_path, 'terminated')
    _wait_for(proc, pause / 'in_iteration_3')
    proc.send_signal(signal.SIGTERM)
    _wait_for(proc, pause / 'stop_requested')
    (pause / 'release').touch()  # iteration 3 completes; the run stops before drawing batch 4
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    message = 'SIGTERM received: saved a resumable state at iteration 3; continue with --auto_resume.'
    exp = tmp_path / 'experiments' / 'terminated'
    assert message in err and 'Traceback' not in err
    assert message in sorted(exp.glob('train_*.log'))[-1].read_text()
    assert sorted(p.name for p in (exp / 'training_states').iterdir()) == ['3.state']
    assert torch.load(exp / 'training_states' / '3.state', weights_only=True)['iter'] == 3
    assert sorted(p.name for p in (exp / 'models').iterdir()) == ['net_d_3.pth', 'net_g_3.pth']


def test_a_second_signal_stops_at_once_without_saving(tiny_data, tmp_path):
    proc, pause = _start_paused_run(tiny_data, tmp_path, 'impatient')
    _wait_for(proc, pause / 'in_iteration_3')
    proc.send_signal(signal.SIGTERM)
    _wait_for(proc, pause / 'stop_requested')  # the first one was taken: the run would save after iteration 3
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)  # iteration 3 never completes: nothing releases it
    except subprocess.TimeoutExpired:
        (pause / 'release').touch()
        proc.communicate(timeout=120)
        raise AssertionError(f'the second SIGTERM did not stop the run (it then exited {proc.returncode})')
    assert proc.returncode == -signal.SIGTERM  # the default action: killed by the signal
    exp = tmp_path / 'experiments' / 'impatient'
    assert not any((exp / 'training_states').iterdir()) and not any((exp / 'models').iterdir())


def test_a_non_finite_loss_stops_training_naming_the_term_and_keeps_the_last_good_checkpoint(tiny_data, tmp_path):
    script = _runner(tmp_path, '''
import torch
from basicsr.losses.basic_loss import L1Loss
calls = {'n': 0}
real_forward = L1Loss.forward
def forward(self, pred, target, weight=None, **kwargs):
    calls['n'] += 1
    loss = real_forward(self, pred, target, weight, **kwargs)
    return loss * float('nan') if calls['n'] == 5 else loss
L1Loss.forward = forward
''')
    opt = opts(tiny_data, 'nan', 'FASRGANModel', 9)
    opt['logger']['print_freq'] = 100  # never logged: caught when iteration 6 is about to be saved
    proc = _run(script, opt, tmp_path)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert 'error: loss term l_g_pix became non-finite at iteration 5: training stopped before saving anything.' \
        in proc.stderr
    exp = tmp_path / 'experiments' / 'nan'
    assert sorted(p.name for p in (exp / 'training_states').iterdir()) == ['3.state']
    assert all(torch.isfinite(t).all() for ckpt in weights(tmp_path, 'nan', 3).values()
               for params in ckpt.values() for t in params.values())


def test_basicsr_model_loading_refuses_code_running_pickles(tmp_path):
    import pickle

    class Payload:
        def __reduce__(self):
            return (os.system, (f'touch {tmp_path / "pwned"}',))

    evil = tmp_path / 'evil.pth'
    evil.write_bytes(pickle.dumps({'params': Payload()}))
    data = {'train_gt': '.', 'train_lq': '.', 'val_gt': '.', 'val_lq': '.'}
    model = build_training_model(tiny_options(data), tmp_path)
    with pytest.raises(ValueError, match='evil.pth: refused'):
        model.load_network(model.net_g, str(evil))
    assert not Path(tmp_path / 'pwned').exists()
