"""No run that does nothing ends in success: each way a training, a test or an inference could run zero iterations,
or read something that is not what its option says, is refused before anything is built — exit 2, one line naming
the key and the numbers, no "End of training", no checkpoint."""
import shutil

import cv2
import numpy as np
import pytest
from conftest import TINY_G, run_entry, srmodel_test_options, tiny_options

from fasrgan_basicsr.cli import inference
from fasrgan_basicsr.utils.cli import run_cli

pytestmark = pytest.mark.subprocess


def empty_pair(root):
    for kind in ('HR', 'LR'):
        (root / kind).mkdir(parents=True)
    return str(root / 'HR'), str(root / 'LR')


def as_lmdb_folder(root):
    """A folder holding what an LMDB holds (``data.mdb``, ``lock.mdb``)."""
    root.mkdir(parents=True)
    (root / 'data.mdb').write_bytes(b'\0' * 4096)
    (root / 'lock.mdb').write_bytes(b'')
    return str(root)


def edit_batch(opt, tmp_path):
    opt['datasets']['train']['batch_size_per_gpu'] = 16  # 2 images x dataset_enlarge_ratio 4 = 8 samples
    return ('datasets:train:batch_size_per_gpu: 16, but the train set holds 2 sample(s)',
            '× dataset_enlarge_ratio 4 = 8 per process and epoch): not one batch, so nothing would be trained')


def edit_lmdb_read_as_disk(opt, tmp_path):
    opt['datasets']['train']['dataroot_gt'] = as_lmdb_folder(tmp_path / 'train_HR.lmdb')
    return 'is an LMDB (it holds data.mdb), read here as a folder of images; set io_backend: {type: lmdb}'


def edit_disk_read_as_lmdb(opt, tmp_path):
    opt['datasets']['train']['io_backend'] = {'type': 'lmdb'}
    return 'a folder of images is read with io_backend: {type: disk}'


def edit_empty_train_set(opt, tmp_path):
    gt, lq = empty_pair(tmp_path / 'empty')
    opt['datasets']['train'].update(dataroot_gt=gt, dataroot_lq=lq)
    return 'datasets:train: holds no samples'


def edit_zero_iterations(opt, tmp_path):
    opt['train']['total_iter'] = 0
    return 'train:total_iter: expected a positive integer, got 0.'


def edit_empty_validation(opt, tmp_path):
    gt, lq = empty_pair(tmp_path / 'empty_val')
    opt['datasets']['val'].update(dataroot_gt=gt, dataroot_lq=lq)
    return 'datasets:val: holds no samples'


@pytest.mark.parametrize('edit', [edit_batch, edit_lmdb_read_as_disk, edit_disk_read_as_lmdb, edit_empty_train_set,
                                  edit_zero_iterations, edit_empty_validation], ids=lambda f: f.__name__[5:])
def test_a_training_that_would_do_nothing_is_refused_before_anything_is_built(tiny_data, tmp_path, edit):
    opt = tiny_options(tiny_data, name='noop', total_iter=2)
    expected = edit(opt, tmp_path)
    proc = run_entry('train.py', opt, tmp_path / 'root', check=False)
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    for part in (expected,) if isinstance(expected, str) else expected:
        assert part in proc.stderr, proc.stderr[-3000:]
    assert 'End of training' not in proc.stdout + proc.stderr
    assert not list((tmp_path / 'root').rglob('*.pth')) and not (tmp_path / 'root' / 'experiments' / 'noop').exists()


def test_a_test_set_with_no_pairs_is_refused(tiny_data, tmp_path):
    opt = srmodel_test_options(tiny_data, 'noop_test', TINY_G, None)
    opt['path']['allow_random_init'] = True
    gt, lq = empty_pair(tmp_path / 'empty')
    opt['datasets']['test_1'].update(dataroot_gt=gt, dataroot_lq=lq)
    proc = run_entry('test.py', opt, tmp_path / 'root', opt_name='test.yml', check=False)
    assert proc.returncode == 2 and 'datasets:test_1: holds no samples' in proc.stderr, proc.stderr[-3000:]
    assert not (tmp_path / 'root' / 'results' / 'noop_test').exists()


def test_an_inference_folder_with_no_image_is_refused(tmp_path, capsys):
    folder = tmp_path / 'in'
    folder.mkdir()
    (folder / 'notes.txt').write_text('no image here')
    assert run_cli(inference.main, ['-i', str(folder), '-o', str(tmp_path / 'out'), '--arch', 'Bicubic']) == 2
    assert f'-i {folder}: no images' in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()
    shutil.rmtree(folder)
    cv2.imwrite(str(tmp_path / 'one.png'), np.zeros((4, 4, 3), np.uint8))  # a single file still works
    assert run_cli(inference.main, ['-i', str(tmp_path / 'one.png'), '-o', str(tmp_path / 'out'), '--arch',
                                    'Bicubic']) == 0


def test_test_py_given_a_training_file_is_one_line(tiny_data, tmp_path):
    opt = tiny_options(tiny_data, name='trained_file')
    proc = run_entry('test.py', opt, tmp_path / 'root', check=False)
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 1 and errors[0].endswith(
        'opt.yml: datasets:train: this is a training option file; test.py takes a test option file (its generator\'s '
        'network_g and pretrain_network_g, test datasets), such as those `fasrgan-options list` shows under test/.')
    assert not (tmp_path / 'root' / 'results').exists()
