"""Hardening, round 2: one test per class of hostile input, through the real entry points, asserting the one line,
the exit status, and that nothing already written changed (byte for byte, or the folder's tree hash).

The classes (docs/bad_inputs.md): option files that exhaust the machine; run names that are paths; resume across
different runs; silent wrong results (non-finite weights, untrained networks, metrics that cannot be computed,
scoring the reference as the method, tables that break); files that are not regular files; two writers and full
disks; misleading messages; datasets described wrongly.
"""
import copy
import hashlib
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml
from basicsr.archs.rrdbnet_arch import RRDBNet
from conftest import REPO, TINY_G, run_entry, srmodel_test_options, tiny_options
from hypothesis import given, settings
from hypothesis import strategies as st

from fasrgan_basicsr.cli import collect_results, create_lmdb, export, inference, score_outputs
from fasrgan_basicsr.datasets_prep import create_lmdb as lmdb_library
from fasrgan_basicsr.pipeline.option_table import RUN_NAME
from fasrgan_basicsr.utils.cli import run_cli

pytestmark = pytest.mark.subprocess


def tree_hash(folder):
    """Names, kinds and contents of everything under ``folder`` (its absence hashes too)."""
    digest = hashlib.sha256()
    folder = Path(folder)
    for path in sorted(folder.rglob('*')) if folder.exists() else []:
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file() and not path.is_symlink():
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def refused(proc, *named, status=2):
    """``proc`` exited ``status`` with one ``error:`` line naming each of ``named`` and no traceback."""
    assert proc.returncode == status, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
    assert len(lines) == 1, proc.stderr[-3000:]
    for name in named:
        assert str(name) in lines[0], lines[0]
    return lines[0]


def cli(main, *argv):
    """Run a command's ``main`` in this process as its console script would: ``(status, stderr lines)``."""
    import contextlib
    import io
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = run_cli(main, [str(a) for a in argv])
    return status, err.getvalue()


def write(opt, folder, name='opt.yml'):
    path = Path(folder) / name
    path.write_text(yaml.safe_dump(opt, sort_keys=False) if isinstance(opt, dict) else opt)
    return path


def trained(tiny_data, root, name='run', **changes):
    """A tiny FASRGAN run trained two iterations under ``root``; returns its option dict."""
    opt = tiny_options(tiny_data, name=name, total_iter=2)
    opt['val']['val_freq'] = 100
    opt.update(changes)
    run_entry('train.py', opt, root)
    return opt


# ------------------------------------------------------------------------------ option files that exhaust
BOMBS = {
    'billion laughs': 'a: &a [x, x, x, x, x, x, x, x, x, x]\n' + ''.join(
        f'{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, '
        f'*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n'
        for i in range(8)) + 'name: bomb\n',
    'under a known key': 'name: bomb\ntrain:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n' + ''.join(
        f'  {chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, '
        f'*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n'
        for i in range(8)) + '  total_iter: *i\n',
    'nested too deep': 'name: deep\nx: ' + '[' * 200 + ']' * 200 + '\n',
    'larger than 1 MiB': 'name: big\n' + ''.join(f'k{i}: {"v" * 100}\n' for i in range(12000)),
}


#: what each bomb is refused for
REFUSALS = {
    'billion laughs': 'its aliases expand to more than 100000 values',
    'under a known key': 'its aliases expand to more than 100000 values',
    'nested too deep': 'mappings and lists nest deeper than 64 levels',
    'larger than 1 MiB': 'bytes; an option file is at most 1048576 bytes.',
}


@pytest.mark.parametrize('kind', list(BOMBS))
def test_an_option_file_that_would_exhaust_the_machine_is_one_line_before_any_work(tmp_path, kind):
    opt_file = write(BOMBS[kind], tmp_path)
    proc = subprocess.run([sys.executable, str(REPO / 'fasrgan_basicsr' / 'train.py'), '-opt', str(opt_file)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    refused(proc, opt_file, REFUSALS[kind])
    assert sorted(p.name for p in tmp_path.iterdir()) == ['opt.yml']


# ------------------------------------------------------------------------------ run names that are paths
@settings(max_examples=30, deadline=None)
@given(st.one_of(st.sampled_from(['.', '..', '', '../x', 'a/b', '/abs', 'x\\y', ' lead', 'trail ', '-x', 'a\nb',
                                  'x' * 300, '.hidden', 'con:', '*', 'a\x00b']),
                 st.text(min_size=1, max_size=20)))
def test_a_run_name_is_one_safe_path_component(name):
    """The rule the checker applies (the entry point test below shows it is applied before any work)."""
    safe = re.fullmatch(RUN_NAME, name) is not None
    if safe:
        assert name not in ('.', '..') and '/' not in name and '\\' not in name and '\x00' not in name
        assert name == name.strip() and not name.startswith(('.', '-')) and len(name) <= 200


@pytest.mark.parametrize('name', ['.', '..', '../elsewhere', 'a/b'])
def test_a_run_name_that_is_a_path_is_refused_and_nothing_moves(tiny_data, tmp_path, name):
    (tmp_path / 'experiments' / 'kept').mkdir(parents=True)
    (tmp_path / 'experiments' / 'kept' / 'notes.txt').write_text('mine')
    before = tree_hash(tmp_path)
    opt = tiny_options(tiny_data, name=name)
    opt_file = write(opt, tmp_path.parent, f'{tmp_path.name}.yml')
    proc = run_entry('train.py', opt_file, tmp_path, check=False)
    refused(proc, 'name:')
    assert tree_hash(tmp_path) == before


# ------------------------------------------------------------------------------ resume across runs
def test_auto_resume_of_a_run_that_now_describes_another_model_is_refused_before_archiving(tiny_data, tmp_path):
    opt = trained(tiny_data, tmp_path)
    before = tree_hash(tmp_path / 'experiments')
    other = copy.deepcopy(opt)
    other['network_g']['num_feat'] = 16  # another generator under the same name
    other['train']['total_iter'] = 4
    proc = run_entry('train.py', other, tmp_path, '--auto_resume', opt_name='other.yml', check=False)
    refused(proc, 'network_g')
    assert tree_hash(tmp_path / 'experiments') == before  # nothing archived, nothing written
    # a state of that run named as path:resume_state of another model type
    third = tiny_options(tiny_data, name='third', model_type='SRModel', total_iter=4, gan_opt=None, map_gan_opt=None,
                         attention_opt=None, optim_d=None, net_d_iters=None, net_d_init_iters=None)
    del third['network_d']
    third['path']['resume_state'] = str(tmp_path / 'experiments' / 'run' / 'training_states' / '2.state')
    proc = run_entry('train.py', third, tmp_path, opt_name='third.yml', check=False)
    refused(proc, '2.state', 'saved by another run', 'model_type is FASRGANModel there, SRModel here')
    assert tree_hash(tmp_path / 'experiments') == before


# ------------------------------------------------------------------------------ silent wrong results
@pytest.fixture
def generator_files(tmp_path):
    torch.manual_seed(0)
    net = RRDBNet(3, 3, num_feat=8, num_block=1, num_grow_ch=4)
    good = tmp_path / 'good.pth'
    torch.save({'params': net.state_dict()}, good)
    files = {'good': good}
    for value in ('nan', 'inf'):
        state = {k: v.clone() for k, v in net.state_dict().items()}
        state['conv_first.weight'][0, 0, 0, 0] = float(value)
        files[value] = tmp_path / f'{value}.pth'
        torch.save({'params': state}, files[value])
    return files


@pytest.mark.parametrize('value', ['nan', 'inf'])
def test_non_finite_weights_are_refused_by_inference_and_export(generator_files, tmp_path, value):
    lr = tmp_path / 'in'
    lr.mkdir()
    cv2.imwrite(str(lr / 'a.png'), np.full((8, 8, 3), 128, np.uint8))
    status, err = cli(inference.main, '-i', lr, '-o', tmp_path / 'out', '--model_path', generator_files[value])
    assert status == 2 and 'hold NaN or infinite values, e.g. conv_first.weight' in err, err
    assert str(generator_files[value]) in err and len(err.splitlines()) == 1
    assert not (tmp_path / 'out').exists()
    status, err = cli(export.main, '-i', generator_files[value], '-o', tmp_path / 'exported')
    assert status == 2 and 'hold NaN or infinite values' in err, err
    assert not (tmp_path / 'exported').exists()


def test_test_without_a_pretrained_generator_is_refused_unless_asked_for(tiny_data, tmp_path):
    opt = srmodel_test_options(tiny_data, 'untrained', TINY_G, None)
    proc = run_entry('test.py', opt, tmp_path, opt_name='test.yml', check=False)
    refused(proc, 'pretrain_network_g', 'allow_random_init')
    assert not (tmp_path / 'results').exists()
    opt['path']['allow_random_init'] = True
    run_entry('test.py', opt, tmp_path, opt_name='test.yml')
    assert list((tmp_path / 'results' / 'untrained').glob('test_*.log'))


def test_a_validation_image_smaller_than_a_metrics_crop_is_named_before_any_work(tiny_data, tmp_path):
    small = tmp_path / 'small'
    for kind, size in (('HR', 8), ('LR', 2)):
        (small / kind).mkdir(parents=True)
        cv2.imwrite(str(small / kind / f'tiny{"x4" if kind == "LR" else ""}.png'), np.zeros((size, size, 3), np.uint8))
    opt = srmodel_test_options(tiny_data, 'small', TINY_G, None)
    opt['datasets']['test_1'].update(dataroot_gt=str(small / 'HR'), dataroot_lq=str(small / 'LR'))
    opt['path']['allow_random_init'] = True
    proc = run_entry('test.py', opt, tmp_path, opt_name='test.yml', check=False)
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    for metric in ('psnr', 'ssim'):  # each metric named, with the image and its size
        assert (f'datasets:test_1: 1 image(s) are too small for val:metrics:{metric} (crop_border 4 on each side '
                'leaves nothing), e.g. tiny.png (8×8)') in proc.stderr, proc.stderr
    assert not (tmp_path / 'results').exists()


def test_score_outputs_refuses_the_reference_as_the_method_and_warns_when_the_folders_look_swapped(tmp_path):
    hr, sr = tmp_path / 'HR', tmp_path / 'SR'
    hr.mkdir()
    sr.mkdir()
    rng = np.random.default_rng(0)
    for name in ('a', 'b'):
        image = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
        cv2.imwrite(str(hr / f'{name}.png'), image)
        cv2.imwrite(str(sr / f'{name}.png'), cv2.GaussianBlur(image, (5, 5), 2))
    results = tmp_path / 'results'
    status, err = cli(score_outputs.main, '--sr', hr, '--hr', hr, '--name', 'm', '-o', results, '--metrics', 'psnr')
    assert status == 2 and 'same folder' in err, err
    copy_of_hr = tmp_path / 'copy'
    shutil.copytree(hr, copy_of_hr)
    status, err = cli(score_outputs.main, '--sr', copy_of_hr, '--hr', hr, '--name', 'm', '-o', results, '--metrics',
                      'psnr')
    assert status == 2 and 'identical' in err, err
    assert not results.exists()


def test_collect_results_escapes_its_cells_and_names_every_log_it_skips(tmp_path):
    results = tmp_path / 'results'
    run = results / 'a|b'
    run.mkdir(parents=True)
    (run / 'test_a|b_20260101_000000.log').write_text(textwrap.dedent('''\
        2026-01-01 00:00:00,000 INFO: Validation Set5
        \t # psnr: 30.1234
        \t # ssim: 0.8'''))  # the last line unterminated: a log still being written
    unreadable = results / 'broken'
    unreadable.mkdir()
    (unreadable / 'test_broken_20260101_000000.log').write_bytes(b'\xff\xfe\x00garbage')
    out = tmp_path / 'tables'
    status, err = cli(collect_results.main, '--results', results, '-o', out)
    tables = ''.join(p.read_text() for p in out.rglob('*.md'))
    assert '| Dataset | Metric | a\\|b |' in tables and '| Set5 | PSNR ↑ | **30.12** |' in tables
    assert 'SSIM' not in tables  # the unterminated last line is not read as 0.8
    assert status == 0 and 'test_broken_20260101_000000.log' in err, err


# ------------------------------------------------------------------------------ files that are not files
@pytest.mark.parametrize('kind', ['fifo', 'dev_zero'])
def test_an_input_that_is_not_a_regular_file_is_refused_at_once(generator_files, tmp_path, kind):
    lr = tmp_path / 'in'
    lr.mkdir()
    cv2.imwrite(str(lr / 'a.png'), np.full((8, 8, 3), 128, np.uint8))
    odd = lr / 'x.png'
    if kind == 'fifo':
        os.mkfifo(odd)
    else:
        odd.symlink_to('/dev/zero')
    argv = [sys.executable, '-m', 'fasrgan_basicsr.cli.inference', '-i', str(lr), '-o', str(tmp_path / 'out'),
            '--model_path', str(generator_files['good'])]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    refused(proc, 'x.png')
    assert not (tmp_path / 'out').exists()
    proc = subprocess.run([sys.executable, '-m', 'fasrgan_basicsr.cli.extract_subimages', '--input', str(lr),
                           '--output', str(tmp_path / 'sub'), '--crop-size', '8', '--step', '8'],
                          capture_output=True, text=True, timeout=60)
    refused(proc, 'x.png')
    assert not (tmp_path / 'sub').exists()


# ------------------------------------------------------------------------------ two writers, full disks
HOLD = textwrap.dedent('''\
    import sys, time
    from fasrgan_basicsr.utils.locks import lock_folder
    lock_folder(sys.argv[1], sys.argv[2])
    print('locked', flush=True)
    sys.stdin.read()
''')


@pytest.fixture
def holder():
    """Start a process that holds the lock of a folder until the test ends (as a live first writer does)."""
    procs = []

    def hold(folder, what):
        proc = subprocess.Popen([sys.executable, '-c', HOLD, str(folder), what], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
        assert proc.stdout.readline().strip() == 'locked'
        procs.append(proc)
        return proc
    yield hold
    for proc in procs:
        proc.stdin.close()
        proc.wait(timeout=30)


def test_a_second_training_under_a_live_runs_name_is_refused_and_the_first_run_keeps_its_folder(tiny_data, tmp_path,
                                                                                                holder):
    opt = trained(tiny_data, tmp_path)
    first = holder(tmp_path / 'experiments' / 'run', 'training run')
    before = tree_hash(tmp_path / 'experiments')
    proc = run_entry('train.py', opt, tmp_path, opt_name='again.yml', check=False)
    refused(proc, tmp_path / 'experiments' / 'run', 'is writing it now', f'process {first.pid}')
    assert tree_hash(tmp_path / 'experiments') == before  # not archived, not written


def test_a_second_lmdb_build_of_the_same_output_is_refused(tmp_path, holder):
    images = tmp_path / 'images'
    images.mkdir()
    for i in range(3):
        cv2.imwrite(str(images / f'{i}.png'), np.full((8, 8, 3), i, np.uint8))
    out = tmp_path / 'x.lmdb'
    holder(out, 'preparation step')
    status, err = cli(create_lmdb.main, '--input', images, '--output', out)
    assert status == 2 and 'is writing it now' in err and str(out) in err, err
    assert not out.exists() and not (tmp_path / 'x.lmdb.partial').exists()


def test_a_disk_that_fills_while_an_lmdb_grows_is_one_line_and_nothing_is_published(tmp_path, monkeypatch):
    images = tmp_path / 'images'
    images.mkdir()
    for i in range(4):
        cv2.imwrite(str(images / f'{i}.png'), np.random.default_rng(i).integers(0, 255, (16, 16, 3), np.uint8))
    before = tree_hash(images)
    real = shutil.disk_usage
    calls = []

    def filling(path):  # plenty at the start, then nothing: another writer filled the disk
        usage = real(path)
        calls.append(path)
        return usage._replace(free=usage.free if len(calls) < 3 else 1000)
    monkeypatch.setattr(lmdb_library.shutil, 'disk_usage', filling)
    out = tmp_path / 'x.lmdb'
    status, err = cli(create_lmdb.main, '--input', images, '--output', out, '--workers', 1)
    assert status == 2 and 'is full' in err and 'nothing was published' in err, err
    assert not out.exists() and tree_hash(images) == before


def test_an_lmdb_output_whose_name_the_system_cannot_encode_is_refused_before_any_work(tmp_path):
    images = tmp_path / 'images'
    images.mkdir()
    cv2.imwrite(str(images / 'a.png'), np.zeros((8, 8, 3), np.uint8))
    out = tmp_path / 'données.lmdb'
    proc = subprocess.run([sys.executable, '-X', 'utf8=0', '-m', 'fasrgan_basicsr.cli.create_lmdb', '--input',
                           str(images), '--output', str(out)], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, LC_ALL='C', LANG='C', PYTHONCOERCECLOCALE='0'), errors='replace')
    assert proc.returncode == 2 and 'cannot encode' in proc.stderr and 'Traceback' not in proc.stderr, proc.stderr
    assert not any(p.name.endswith(('.lmdb', '.partial')) for p in tmp_path.iterdir())


# ------------------------------------------------------------------------------ misleading messages
def test_messages_say_what_a_path_is(tiny_data, tmp_path, generator_files):
    folder = tmp_path / 'weights_folder'
    folder.mkdir()
    onnx_file = tmp_path / 'model.onnx'
    onnx_file.write_bytes(b'\x08\x07\x12\x07pytorch' + bytes(64))  # an ONNX protobuf's first bytes
    lmdb_dir = tmp_path / 'data.lmdb'
    lmdb_dir.mkdir()
    (lmdb_dir / 'data.mdb').write_bytes(b'')
    (lmdb_dir / 'lock.mdb').write_bytes(b'')
    opt = tiny_options(tiny_data, name='messages')
    opt['path']['pretrain_network_g'] = str(folder)
    opt['path']['pretrain_network_d'] = str(onnx_file)
    opt['datasets']['train']['dataroot_gt'] = str(lmdb_dir)
    proc = run_entry('train.py', opt, tmp_path, check=False)
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    err = proc.stderr
    assert f'path:pretrain_network_g: {folder}: is a folder, not a checkpoint file.' in err, err
    assert f'path:pretrain_network_d: {onnx_file}: an ONNX model, not a PyTorch checkpoint' in err, err
    assert 'pickled objects' not in err, err
    assert 'is an LMDB (it holds data.mdb), read here as a folder of images; set io_backend: {type: lmdb}' in err, err
    assert not (tmp_path / 'experiments' / 'messages').exists()


# ------------------------------------------------------------------------------ datasets described wrongly
def test_datasets_described_wrongly_are_named_before_any_work(tiny_data, tmp_path):
    empty = tmp_path / 'empty'
    (empty / 'HR').mkdir(parents=True)
    (empty / 'LR').mkdir()
    opt = tiny_options(tiny_data, name='datasets')
    opt['datasets']['train'].update(dataroot_gt=str(empty / 'HR'), dataroot_lq=str(empty / 'LR'))
    del opt['datasets']['val']['dataroot_lq']
    opt['datasets']['val_2'] = copy.deepcopy(opt['datasets']['val'])
    proc = run_entry('train.py', opt, tmp_path, check=False)
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    err = proc.stderr
    assert f'datasets:train: holds no samples (0 files in {empty / "HR"}): nothing would be trained.' in err, err
    assert 'datasets:val:dataroot_lq: missing; expected a path.' in err, err
    assert ("datasets:val_2:name: 'tiny_val' is also the name of datasets:val; their images and logged values would "
            'overwrite each other') in err, err
    assert not (tmp_path / 'experiments' / 'datasets').exists()


def test_a_test_file_with_save_img_and_no_suffix_runs(tiny_data, tmp_path, generator_files):
    opt = srmodel_test_options(tiny_data, 'nosuffix', TINY_G, str(generator_files['good']), param_key='params')
    del opt['val']['suffix']
    run_entry('test.py', opt, tmp_path, opt_name='test.yml')
    assert list((tmp_path / 'results' / 'nosuffix' / 'visualization' / 'tiny_val').glob('*.png'))



def test_a_metric_that_could_not_be_computed_is_named_and_never_recorded_as_a_best(basicsr_messages):
    from basicsr.models.sr_model import SRModel

    from fasrgan_basicsr.pipeline import validation
    validation.install()
    model = SRModel.__new__(SRModel)
    model.best_metric_results = {'Set5': {'psnr': {'better': 'higher', 'val': float('-inf'), 'iter': -1}}}
    model._update_best_metric_result('Set5', 'psnr', float('nan'), 10)
    assert model.best_metric_results['Set5']['psnr'] == {'better': 'higher', 'val': float('-inf'), 'iter': -1}
    assert any('Set5: psnr is nan' in m and 'not recorded as a best' in m for m in basicsr_messages)
    model.metric_results = {'psnr': float('nan')}
    model._log_validation_metric_values(10, 'Set5', None)
    assert 'Validation Set5\n\t # psnr: nan\tnot computed (the error above says why): no best\n' in basicsr_messages
    model._update_best_metric_result('Set5', 'psnr', 30.5, 20)
    assert model.best_metric_results['Set5']['psnr'] == {'better': 'higher', 'val': 30.5, 'iter': 20}
    model.metric_results = {'psnr': 30.5}
    model._log_validation_metric_values(20, 'Set5', None)
    assert 'Validation Set5\n\t # psnr: 30.5000\tBest: 30.5000 @ 20 iter\n' in basicsr_messages


def test_scores_that_beat_the_reference_say_the_folders_may_be_swapped():
    from fasrgan_basicsr.evaluation.scoring import looks_swapped
    metrics = {'niqe': {'type': 'calculate_niqe'}, 'ma': {'type': 'calculate_ma'}}
    assert looks_swapped({'niqe': 3.0, 'ma': 5.0}, {'niqe': 4.0, 'ma': 6.0}, metrics) == [
        'the SR images score a better niqe (3.0000) than their HR images (4.0000): check that --sr and --hr are not '
        'swapped (a GAN can beat HR on no-reference scores).']
    assert looks_swapped({'niqe': 5.0, 'ma': 7.0}, {'niqe': 4.0, 'ma': 6.0}, metrics) == [
        'the SR images score a better ma (7.0000) than their HR images (6.0000): check that --sr and --hr are not '
        'swapped (a GAN can beat HR on no-reference scores).']
    assert looks_swapped({'niqe': float('nan')}, {'niqe': 4.0}, metrics) == []


def test_a_full_disk_while_inference_writes_is_one_line_naming_the_file(generator_files, tmp_path, monkeypatch):
    import errno

    from fasrgan_basicsr.generators import image_io
    lr = tmp_path / 'in'
    lr.mkdir()
    cv2.imwrite(str(lr / 'a.png'), np.full((8, 8, 3), 128, np.uint8))
    out = tmp_path / 'out'

    def full(path, data):
        raise OSError(errno.ENOSPC, 'No space left on device', path)
    monkeypatch.setattr(image_io, 'atomic_write_bytes', full)
    status, err = cli(inference.main, '-i', lr, '-o', out, '--model_path', generator_files['good'])
    assert status == 2 and err.splitlines() == [f'error: {out / "a_x4.png"}: out of disk space (or over the file-size '
                                                f'limit), {err.split("limit), ")[1].split(" free")[0]} free there: No '
                                                'space left on device'], err
    assert not (out.exists() and list(out.iterdir()))  # nothing half-written


def test_an_export_example_that_is_not_a_regular_file_is_refused(generator_files, tmp_path):
    fifo = tmp_path / 'example.png'
    os.mkfifo(fifo)
    status, err = cli(export.main, '-i', generator_files['good'], '-o', tmp_path / 'exported', '--example', fifo)
    assert status == 2 and err.splitlines() == [
        f'error: --example {fifo}: is a named pipe (FIFO), not a file to read as an image.'], err
    assert not (tmp_path / 'exported').exists()
