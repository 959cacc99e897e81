"""Issue 10: what a hostile or clumsy user gives train.py / test.py ends in one line naming it, exit 2, no damage.

Option files, checkpoints, weight files and training data are untrusted. Each case asserts the exit status,
the key or file named in the message, that nothing ran (marker files never created) and, where files
existed, that they are unchanged.
"""
import copy
import errno
import logging
import os
import pickle
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from basicsr.archs.rrdbnet_arch import RRDBNet
from conftest import REPO, TINY_G, run_entry, srmodel_test_options, tiny_options

from fasrgan_basicsr.pipeline import runner
from fasrgan_basicsr.pipeline.options_check import OptionsError, check_structure
from fasrgan_basicsr.utils.checkpoint import atomic_torch_save, weights_only_loading
from fasrgan_basicsr.utils.option_file import OptionFileError, read_option_file

TRAIN = REPO / 'fasrgan_basicsr' / 'train.py'


class CodeRunner:
    """Unpickling this touches ``marker`` (``os.system`` through ``__reduce__``): it must never happen."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


def malicious_checkpoint(path, marker):
    torch.save({'params': CodeRunner(marker)}, path)


def train(opt, root, *args):
    return run_entry('train.py', opt, root, *args, check=False)


def error_lines(proc):
    return [line for line in proc.stderr.splitlines() if 'error:' in line]


def assert_refused(proc, *named, status=2):
    """Exit ``status`` with one ``error:`` line naming each of ``named``, and no traceback."""
    assert proc.returncode == status, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    lines = error_lines(proc)
    assert len(lines) == 1, proc.stderr[-3000:]
    for name in named:
        assert str(name) in lines[0], lines[0]
    return lines[0]


# -------------------------------------------------------------------------------------------- option files
def test_python_tags_in_an_option_file_never_run(tiny_data, tmp_path):
    marker = tmp_path / 'MARKER'
    opt_file = tmp_path / 'evil.yml'
    text = yaml.safe_dump(tiny_options(tiny_data), sort_keys=False)
    opt_file.write_text(text + f'hook: !!python/object/apply:os.system ["touch {marker}"]\n')
    for script in ('train.py', 'test.py'):
        proc = run_entry(script, str(opt_file), tmp_path, check=False)
        line = assert_refused(proc, str(opt_file), 'line ', 'python/object/apply:os.system', 'not allowed')
        assert not marker.exists(), line
    assert not (tmp_path / 'experiments').exists() and not (tmp_path / 'results').exists()


def test_basicsr_own_option_loader_is_made_safe(tmp_path):
    """BasicSR's ``ordered_yaml`` (its ``parse_options``) reads through the safe loader once the plugin is imported."""
    from basicsr.utils.options import ordered_yaml
    marker = tmp_path / 'MARKER'
    with pytest.raises(yaml.YAMLError):
        yaml.load(f'a: !!python/object/apply:os.system ["touch {marker}"]', Loader=ordered_yaml()[0])
    assert not marker.exists()
    loaded = yaml.load('b: 1\na: !!float 1e-4\n', Loader=ordered_yaml()[0])
    assert list(loaded) == ['b', 'a'] and loaded['a'] == 1e-4 and isinstance(loaded['a'], float)


@pytest.mark.parametrize('text, expected', [
    ('name: x\n  model_type: [\n', 'line 2'),                     # syntax error: file and line
    ('name: a\nname: b\n', "line 2, column 1: duplicated key 'name' (first at line 1"),
    ('- just\n- a list\n', 'expected a mapping of options'),
    ('', 'found an empty file'),
])
def test_unreadable_option_files_name_file_and_line(tmp_path, text, expected):
    path = tmp_path / 'o.yml'
    path.write_text(text)
    with pytest.raises(OptionFileError) as info:
        read_option_file(str(path))
    assert str(info.value).startswith(f'{path}') and expected in str(info.value), str(info.value)


def test_order_and_yaml_float_tags_are_kept(tmp_path):
    path = tmp_path / 'o.yml'
    path.write_text('z: 1\na: !!float 2e-4\nm: {y: 1, b: 2}\n')
    opt = read_option_file(str(path))
    assert list(opt) == ['z', 'a', 'm'] and list(opt['m']) == ['y', 'b']
    assert opt['a'] == 2e-4 and isinstance(opt['a'], float)


# (key path, bad value, expected words): one per kind of mistake the issue lists, and their neighbours
BAD_VALUES = [
    (('train', 'optim_g', 'lr'), 'fast', 'train:optim_g:lr: expected a positive number'),
    (('train', 'total_iter'), 'ten', 'train:total_iter: expected a positive integer'),
    (('train', 'scheduler', 'milestones'), 'abc', 'train:scheduler:milestones: expected a list of positive integers'),
    (('train', 'scheduler', 'milestones'), [100, -1], 'train:scheduler:milestones'),
    (('datasets', 'train', 'gt_size'), [32, 32], 'datasets:train:gt_size: expected a positive integer'),
    (('datasets', 'train', 'batch_size_per_gpu'), 0, 'datasets:train:batch_size_per_gpu: expected a positive'),
    (('datasets', 'train', 'batch_size_per_gpu'), -2, 'datasets:train:batch_size_per_gpu'),
    (('datasets', 'train', 'num_worker_per_gpu'), 1.5, 'datasets:train:num_worker_per_gpu: expected an integer'),
    (('datasets', 'train', 'use_hflip'), 'yes please', 'datasets:train:use_hflip: expected true or false'),
    (('datasets', 'train', 'io_backend'), {'type': 'zip'}, 'datasets:train:io_backend'),
    (('train', 'optim_d', 'betas'), [0.9], 'train:optim_d:betas: expected two numbers'),
    (('train', 'ema_decay'), 1.5, 'train:ema_decay: expected a number in [0, 1)'),
    (('val', 'val_freq'), 0, 'val:val_freq: expected a positive integer'),
    (('logger', 'print_freq'), 'often', 'logger:print_freq'),
    (('num_gpu',), 'all', "num_gpu: expected an integer >= 0 or 'auto'"),
    (('scale',), 0, 'scale: expected a positive integer'),
    (('name',), 'a/b', 'name: expected a run name'),
    (('datasets',), None, 'datasets: missing'),
    (('train',), 'x', 'train: expected a mapping'),
]


@pytest.mark.parametrize('keys, value, expected', BAD_VALUES, ids=[':'.join(k) + f'={v!r}' for k, v, _ in BAD_VALUES])
def test_wrong_types_are_named_by_key_path(tiny_data, keys, value, expected):
    opt = tiny_options(tiny_data, model_type='SRModel' if keys == ('datasets', 'train', 'gt_size') else 'FASRGANModel')
    node = opt
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    with pytest.raises(OptionsError) as info:
        check_structure(opt, 'x.yml', is_train=True)
    assert any(expected in p for p in info.value.problems), info.value.problems


def test_integral_yaml_floats_are_integers(tiny_data):
    """``total_iter: !!float 4e5`` is BasicSR's usual spelling: accepted wherever an integer is expected."""
    opt = tiny_options(tiny_data)
    opt['train']['total_iter'] = 4e5
    opt['train']['scheduler']['milestones'] = [2e5, 3e5]
    opt['logger']['save_checkpoint_freq'] = 5e3
    check_structure(opt, 'x.yml', is_train=True)


def test_missing_sections_are_reported_before_any_work(tiny_data, tmp_path):
    opt = tiny_options(tiny_data)
    del opt['datasets']['train']
    line = assert_refused(train(opt, tmp_path / 'a'), 'datasets:train: missing')
    assert 'found: val' in line
    opt = tiny_options(tiny_data)
    del opt['datasets']
    assert_refused(train(opt, tmp_path / 'b'), 'datasets: missing')
    for root in ('a', 'b'):
        assert not (tmp_path / root / 'experiments').exists()


def test_force_yml_values_are_data_not_code(tiny_data, tmp_path):
    marker = tmp_path / 'MARKER'
    proc = train(tiny_options(tiny_data, total_iter=10**9), tmp_path, '--force_yml',
                 f'train:total_iter=[__import__("os").system("touch {marker}")]')
    assert_refused(proc, 'train:total_iter: expected a positive integer')
    assert not marker.exists()
    proc = train(tiny_options(tiny_data), tmp_path, '--force_yml', 'nosuch:total_iter=3')
    assert_refused(proc, '--force_yml nosuch:total_iter=3', 'nosuch is not a section')


def test_dataroot_that_is_a_file_or_not_an_lmdb(tiny_data, tmp_path):
    opt = tiny_options(tiny_data)
    a_file = sorted(Path(tiny_data['train_gt']).iterdir())[0]
    opt['datasets']['train']['dataroot_gt'] = str(a_file)
    assert_refused(train(opt, tmp_path / 'a'), 'datasets:train:dataroot_gt', str(a_file), 'is a file')
    opt = tiny_options(tiny_data)
    (tmp_path / 'gt.lmdb').mkdir()
    opt['datasets']['train'].update(io_backend={'type': 'lmdb'}, dataroot_gt=str(tmp_path / 'gt.lmdb'))
    proc = train(opt, tmp_path / 'b')  # the LQ folder of PNGs is no LMDB either: both named, in one message
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    assert f"datasets:train:dataroot_gt: '{tmp_path / 'gt.lmdb'}' is not an LMDB built for BasicSR (no data.mdb " \
           'or meta_info.txt' in proc.stderr
    assert f"datasets:train:dataroot_lq: '{tiny_data['train_lq']}' does not end with .lmdb" in proc.stderr


def _lmdb(path, images):
    import cv2
    import lmdb
    env = lmdb.open(str(path), map_size=1 << 24)
    with env.begin(write=True) as txn:
        for key, img in images.items():
            txn.put(key.encode(), cv2.imencode('.png', img)[1].tobytes())
    env.close()


def test_an_lmdb_key_listed_in_meta_info_but_absent(tiny_data, tmp_path):
    import numpy as np
    gt, lq = tmp_path / 'gt.lmdb', tmp_path / 'lq.lmdb'
    rng = np.random.default_rng(0)
    _lmdb(gt, {'a': rng.integers(0, 255, (64, 64, 3), np.uint8), 'b': rng.integers(0, 255, (64, 64, 3), np.uint8)})
    _lmdb(lq, {'a': rng.integers(0, 255, (16, 16, 3), np.uint8), 'b': rng.integers(0, 255, (16, 16, 3), np.uint8)})
    for folder in (gt, lq):
        (folder / 'meta_info.txt').write_text('a.png (64,64,3) 1\nb.png (64,64,3) 1\nc.png (64,64,3) 1\n')
    opt = tiny_options(tiny_data)
    opt['datasets']['train'].update(io_backend={'type': 'lmdb'}, dataroot_gt=str(gt), dataroot_lq=str(lq))
    proc = train(opt, tmp_path / 'run')
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    for key in ('dataroot_gt', 'dataroot_lq'):
        assert f"datasets:train:{key}: '{tmp_path / key[-2:]}.lmdb': 1 key(s) listed in meta_info.txt are not in " \
               "the LMDB, e.g. 'c' (3 listed, 2 stored;" in proc.stderr, proc.stderr
    assert not (tmp_path / 'run' / 'experiments').exists()


def test_num_gpu_on_a_machine_without_cuda(tiny_data, tmp_path):
    if torch.cuda.is_available():
        pytest.skip('this machine has CUDA')
    opt = tiny_options(tiny_data)
    opt['num_gpu'] = 1  # BasicSR's template default
    assert_refused(train(opt, tmp_path), 'num_gpu: 1', 'no CUDA GPU', 'num_gpu: 0', 'auto')


def test_a_perceptual_loss_weighing_nothing_is_refused(tiny_data, tmp_path):
    opt = tiny_options(tiny_data, perceptual_opt={'type': 'PerceptualLoss', 'layer_weights': {'conv5_4': 1},
                                                  'perceptual_weight': 0, 'style_weight': 0})
    assert_refused(train(opt, tmp_path), 'train:perceptual_opt', 'both 0', 'remove perceptual_opt')


def test_vgg19_weights_missing_offline_are_one_line_before_building(tiny_data, tmp_path):
    """No VGG19 in the cache or experiments/pretrained_models and no network: the option check says where to put it."""
    opt = tiny_options(tiny_data, perceptual_opt={'type': 'PerceptualLoss', 'layer_weights': {'conv5_4': 1}})
    env_home = tmp_path / 'empty_torch_home'
    proc = subprocess.run([sys.executable, str(TRAIN), '-opt', str(_write(opt, tmp_path))], cwd=tmp_path,
                          env=dict(os.environ, FASRGAN_ROOT=str(tmp_path), TORCH_HOME=str(env_home),
                                   https_proxy='http://127.0.0.1:9', HTTPS_PROXY='http://127.0.0.1:9'),
                          capture_output=True, text=True, timeout=300)
    assert_refused(proc, 'train:perceptual_opt', 'VGG19 weights are not on this machine', 'vgg19-dcbb9e9d.pth',
                   str(env_home / 'hub' / 'checkpoints'))
    assert not (tmp_path / 'experiments').exists()


def _write(opt, folder, name='opt.yml'):
    path = Path(folder) / name
    path.write_text(yaml.safe_dump(opt, sort_keys=False))
    return path


def test_vgg19_file_that_would_run_code_is_refused_even_when_the_environment_allows_pickles(tiny_data, tmp_path):
    marker = tmp_path / 'MARKER'
    (tmp_path / 'experiments' / 'pretrained_models').mkdir(parents=True)
    torch.save(CodeRunner(marker), tmp_path / 'experiments' / 'pretrained_models' / 'vgg19-dcbb9e9d.pth')
    opt = tiny_options(tiny_data, perceptual_opt={'type': 'PerceptualLoss', 'layer_weights': {'conv5_4': 1}})
    proc = subprocess.run([sys.executable, str(TRAIN), '-opt', str(_write(opt, tmp_path))], cwd=tmp_path,
                          env=dict(os.environ, FASRGAN_ROOT=str(tmp_path), TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD='1'),
                          capture_output=True, text=True, timeout=300)
    assert_refused(proc, 'train:perceptual_opt', 'vgg19-dcbb9e9d.pth', 'refused')
    assert not marker.exists()


def test_weights_only_loading_overrides_library_call_sites_and_the_environment(tmp_path, monkeypatch):
    """torchvision passes ``weights_only=False``; inside the plugin's pipelines it is weights-only all the same."""
    marker = tmp_path / 'MARKER'
    torch.save(CodeRunner(marker), tmp_path / 'w.pth')
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    with weights_only_loading():
        with pytest.raises(pickle.UnpicklingError):
            torch.load(tmp_path / 'w.pth', weights_only=False)
        with pytest.raises(pickle.UnpicklingError):
            torch.hub.load_state_dict_from_url('https://example.invalid/w.pth', model_dir=str(tmp_path),
                                               file_name='w.pth')
    assert not marker.exists()
    assert os.environ['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] == '1' and 'TORCH_FORCE_WEIGHTS_ONLY_LOAD' not in os.environ


# ----------------------------------------------------------------------------------------------- checkpoints
def test_a_code_running_resume_state_is_a_one_line_refusal(tiny_data, tmp_path):
    marker = tmp_path / 'MARKER'
    malicious_checkpoint(tmp_path / 'evil.state', marker)
    opt = tiny_options(tiny_data)
    opt['path']['resume_state'] = str(tmp_path / 'evil.state')
    assert_refused(train(opt, tmp_path / 'run'), 'path:resume_state', 'evil.state', 'refused')
    assert not marker.exists() and not (tmp_path / 'run' / 'experiments').exists()


@pytest.mark.parametrize('net, other', [
    ('g', dict(TINY_G, num_feat=16)),                                  # another width
    ('g', dict(TINY_G, num_block=2)),                                  # another depth
    ('d', {'type': 'UNetDiscriminatorFA', 'num_in_ch': 3, 'num_feat': 8, 'input_size': 32}),
])
def test_a_pretrained_checkpoint_of_another_architecture_names_file_network_and_key(tiny_data, tmp_path, net, other):
    from basicsr.archs import build_network
    ckpt = tmp_path / f'other_{net}.pth'
    torch.save({'params': build_network(copy.deepcopy(other)).state_dict()}, ckpt)
    opt = tiny_options(tiny_data)
    opt['path'][f'pretrain_network_{net}'] = str(ckpt)
    line = assert_refused(train(opt, tmp_path / 'run'), f'path:pretrain_network_{net}', str(ckpt),
                          f'does not fit network_{net}')
    assert ('first ' in line and 'in the file' in line) or 'unexpected' in line, line
    assert not (tmp_path / 'run' / 'experiments').exists()


def test_the_loader_logs_what_it_loaded_and_plain_weights_fit_fs_generators_silently(tiny_data, tmp_path):
    plain = RRDBNet(3, 3, num_feat=8, num_block=2, num_grow_ch=4)
    torch.save({'params': plain.state_dict()}, tmp_path / 'plain.pth')
    fs_g = {'type': 'FsRRDBNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_shared_block': 1,
            'num_block': 1, 'num_grow_ch': 4}
    opt = tiny_options(tiny_data, model_type='FAFsSRGANModel', total_iter=1, network_g=fs_g,
                       network_d={'type': 'UNetDiscriminatorFA', 'num_in_ch': 8, 'num_feat': 4, 'input_size': 32})
    opt['path'].update(pretrain_network_g=str(tmp_path / 'plain.pth'), param_key_g='params_ema')
    opt['val']['val_freq'] = 10
    run_entry('train.py', opt, tmp_path / 'run')
    log = next((tmp_path / 'run' / 'experiments' / 'tiny').glob('train_*.log')).read_text()
    assert f'Loading FsRRDBNet model from {tmp_path / "plain.pth"}, with param key: [params].' in log
    assert f'Loading: params_ema does not exist in {tmp_path / "plain.pth"}, use params.' in log
    assert 'Current net - loaded net' not in log and 'left as built' not in log and 'ignored' not in log


def test_checkpoints_get_normal_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_torch_save({'a': torch.zeros(1)}, tmp_path / 'a.pth')
        os.umask(0o002)
        atomic_torch_save({'a': torch.zeros(1)}, tmp_path / 'b.pth')
    finally:
        os.umask(old)
    assert (tmp_path / 'a.pth').stat().st_mode & 0o777 == 0o644
    assert (tmp_path / 'b.pth').stat().st_mode & 0o777 == 0o664


# ------------------------------------------------------------------------------------------- training data
def _copy_data(tiny_data, tmp_path):
    import shutil
    data = {}
    for key in ('train_gt', 'train_lq'):
        data[key] = str(shutil.copytree(tiny_data[key], tmp_path / key))
    data.update(val_gt=tiny_data['val_gt'], val_lq=tiny_data['val_lq'])
    return data


@pytest.mark.parametrize('damage, expected', [
    ('empty', 'empty (0 bytes)'),
    ('garbage', 'not a decodable image'),
    ('small_lq', 'expected GT = 4 × LQ'),
])
def test_a_bad_training_sample_names_the_dataset_and_the_file(tiny_data, tmp_path, damage, expected):
    import cv2
    data = _copy_data(tiny_data, tmp_path)
    gt = sorted(Path(data['train_gt']).iterdir())[0]
    lq = Path(data['train_lq']) / f'{gt.stem}x4{gt.suffix}'
    if damage == 'empty':
        gt.write_bytes(b'')
        named = gt
    elif damage == 'garbage':
        lq.write_bytes(os.urandom(300))
        named = lq
    else:
        img = cv2.imread(str(lq))
        cv2.imwrite(str(lq), img[:-2, :-2])
        named = lq
    opt = tiny_options(data)
    opt['datasets']['train']['dataset_enlarge_ratio'] = 1
    opt['datasets']['train']['use_hflip'] = False
    line = assert_refused(train(opt, tmp_path / 'run'), 'dataset tiny_train (train)', str(named), expected)
    assert 'Traceback' not in line


def test_an_unpaired_folder_is_reported_before_any_work(tiny_data, tmp_path):
    data = _copy_data(tiny_data, tmp_path)
    (Path(data['train_gt']) / 'notes.txt').write_text('not an image')
    assert_refused(train(tiny_options(data), tmp_path / 'run'), 'datasets:train', "'notes.txt' needs 'notesx4.txt'")
    assert not (tmp_path / 'run' / 'experiments').exists()


# --------------------------------------------------------------------------------- disk full, temporaries, logs
def _limit_file_size(limit):
    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


def trained_for_two_iterations(tiny_data, root, save_every=2):
    """The option dict of a tiny run trained (checkpoints every ``save_every`` iterations, up to 2) under ``root``."""
    opt = tiny_options(tiny_data, total_iter=2)
    opt['val']['val_freq'] = 100
    opt['logger']['save_checkpoint_freq'] = save_every
    run_entry('train.py', opt, root)
    return opt


def test_a_full_disk_during_training_is_one_line_and_leaves_earlier_checkpoints_intact(tiny_data, tmp_path):
    opt = trained_for_two_iterations(tiny_data, tmp_path)
    models = tmp_path / 'experiments' / 'tiny' / 'models'
    before = {p.name: p.read_bytes() for p in models.iterdir()}
    size = max(len(b) for b in before.values())
    opt['train']['total_iter'] = 4
    opt_file = _write(opt, tmp_path)
    proc = subprocess.run([sys.executable, str(TRAIN), '-opt', str(opt_file), '--auto_resume'], cwd=tmp_path,
                          env=dict(os.environ, FASRGAN_ROOT=str(tmp_path)), capture_output=True, text=True,
                          timeout=300, preexec_fn=_limit_file_size(size // 2))
    line = assert_refused(proc, 'out of disk space', str(models), 'GB free there')
    assert 'checkpoints written before are intact' in line
    after = {p.name: p.read_bytes() for p in models.iterdir()}
    assert {name: after.get(name) for name in before} == before  # every earlier checkpoint byte for byte
    states = tmp_path / 'experiments' / 'tiny' / 'training_states'
    assert not [p for p in list(models.iterdir()) + list(states.iterdir()) if p.name.endswith('.tmp')]
    assert sorted(p.name for p in states.iterdir()) == ['2.state']  # iteration 4 never marked complete


def test_a_read_only_experiment_folder_is_one_line(monkeypatch, capsys):
    class Pipeline:
        @staticmethod
        def train_pipeline(root):
            raise PermissionError(errno.EROFS, 'Read-only file system', '/data/experiments/x/models/net_g_2.pth')

    with pytest.raises(SystemExit) as info:
        runner.run(Pipeline, 'train_pipeline')
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ['error: /data/experiments/x/models/net_g_2.pth: no permission to write (Read-only file system); '
                   'choose another place or fix its permissions; the checkpoints written before are intact.']


def test_orphan_temporaries_of_killed_saves_are_removed_and_logged(tiny_data, tmp_path):
    opt = trained_for_two_iterations(tiny_data, tmp_path)
    models = tmp_path / 'experiments' / 'tiny' / 'models'
    orphan = models / '.net_g_4.pth.0a1b2c3d.tmp'
    orphan.write_bytes(b'half a checkpoint')
    keep = models / 'notes.tmp'  # not ours: left alone
    keep.write_text('user file')
    opt['train']['total_iter'] = 3
    run_entry('train.py', opt, tmp_path, '--auto_resume')
    assert not orphan.exists() and keep.read_text() == 'user file'
    log = sorted((tmp_path / 'experiments' / 'tiny').glob('train_*.log'))[-1].read_text()
    assert 'Removed 1 temporary file(s) of interrupted saves' in log and orphan.name in log
    for path in list(models.iterdir()) + list((models.parent / 'training_states').iterdir()):
        if path.name != 'notes.tmp':
            assert path.stat().st_mode & 0o777 == 0o666 & ~_umask(), path  # written with normal permissions


def _umask():
    old = os.umask(0)
    os.umask(old)
    return old


def test_skipped_states_and_divergence_are_in_the_train_log(tiny_data, tmp_path):
    opt = trained_for_two_iterations(tiny_data, tmp_path, save_every=1)
    states = tmp_path / 'experiments' / 'tiny' / 'training_states'
    (states / '2.state').write_bytes(b'truncated')  # the newest is skipped; 1.state resumes
    opt['train']['total_iter'] = 3
    opt['train']['pixel_opt']['loss_weight'] = float('inf')  # diverges at once
    proc = train(opt, tmp_path, '--auto_resume')
    assert proc.returncode == 3, proc.stderr[-2000:]
    log = sorted((tmp_path / 'experiments' / 'tiny').glob('train_*.log'))[-1].read_text()
    assert 'skipping' in log and '2.state' in log
    assert 'loss term l_g_pix became non-finite at iteration 2' in log  # the first after 1.state


def test_report_goes_into_the_log_once_it_exists(tmp_path, capsys):
    logger = logging.getLogger('basicsr')
    handler = logging.FileHandler(tmp_path / 'train_x.log')
    logger.addHandler(handler)
    try:
        runner.report('error: something named', logging.ERROR)
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert 'error: something named' in (tmp_path / 'train_x.log').read_text()


def test_test_pipeline_shares_the_checks(tiny_data, tmp_path):
    marker = tmp_path / 'MARKER'
    malicious_checkpoint(tmp_path / 'g.pth', marker)
    opt = srmodel_test_options(tiny_data, 'evil', TINY_G, str(tmp_path / 'g.pth'))
    proc = run_entry('test.py', opt, tmp_path, check=False)
    assert_refused(proc, 'path:pretrain_network_g', 'g.pth', 'refused')
    assert not marker.exists() and not (tmp_path / 'results').exists()


def test_lpips_alexnet_that_would_run_code_is_refused_and_reported_as_nan(tmp_path, monkeypatch):
    import numpy as np

    from fasrgan_basicsr.metrics import lpips_metric
    marker = tmp_path / 'MARKER'
    (tmp_path / 'hub' / 'checkpoints').mkdir(parents=True)
    torch.save(CodeRunner(marker), tmp_path / 'hub' / 'checkpoints' / 'alexnet-owt-7be5be79.pth')
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    lpips_metric.clear_cache()
    img = np.zeros((16, 16, 3), np.uint8)
    try:
        assert np.isnan(lpips_metric.calculate_lpips(img, img, device='cpu'))
    finally:
        lpips_metric.clear_cache()
    assert not marker.exists()


def test_a_validation_pair_whose_gt_is_smaller_than_scale_times_lq_names_both_files(tiny_data, tmp_path):
    """BasicSR crops a larger validation GT to scale × LQ, but a smaller one would reach the metrics misaligned."""
    import shutil

    import cv2
    from basicsr.data import build_dataset

    from fasrgan_basicsr.pipeline.dataset_check import CheckedDataset, DatasetError
    gt_dir = Path(shutil.copytree(tiny_data['val_gt'], tmp_path / 'gt'))
    gt = sorted(gt_dir.iterdir())[0]
    cv2.imwrite(str(gt), cv2.imread(str(gt))[:-4])
    opt = dict(tiny_options(tiny_data)['datasets']['val'], dataroot_gt=str(gt_dir), phase='val', scale=4)
    dataset = CheckedDataset(build_dataset(opt), 'dataset tiny_val (val)')
    with pytest.raises(DatasetError) as info:
        dataset[0]
    assert str(info.value).startswith(f'dataset tiny_val (val): GT {gt} is 64×44 but LQ ') and \
        str(info.value).endswith('chelseax4.png is 16×12; expected GT = 4 × LQ (scale: 4).')
