"""Every multi-output script, killed (SIGKILL: no cleanup runs) at any point and rerun with the same command,
finishes with exactly the outputs of an uninterrupted run.

The kill is deterministic: a forked child runs the script's real ``main`` with one of its functions wrapped so that
the N-th call sends SIGKILL to the process itself.
"""
import contextlib
import hashlib
import importlib
import io
import os
import signal
from pathlib import Path

import cv2
import lmdb
import numpy as np
import pytest
import torch
from test_datasets_prep import partials, run_main
from test_datasets_prep_pairing import write_images

from fasrgan_basicsr.datasets_prep import prepare_benchmarks, prepare_div2k, prepare_realsr
from fasrgan_basicsr.datasets_prep.common import INTERRUPTED
from fasrgan_basicsr.utils.cli import run_cli


def kill_at_call(module, function, call, argv, patch_module=None):
    """Run the command ``fasrgan_basicsr.cli.<module>`` on ``argv`` in a forked child that SIGKILLs itself at the
    ``call``-th call of ``fasrgan_basicsr.datasets_prep.<patch_module or module>.<function>``; returns the child's
    status (``-9`` when killed).

    Forking (rather than a fresh interpreter) skips importing torch and BasicSR again; the child still dies by a real
    SIGKILL, so no ``finally``, ``__exit__`` or atexit handler of the script runs.
    """
    patched = importlib.import_module(f'fasrgan_basicsr.datasets_prep.{patch_module or module}')
    script = importlib.import_module(f'fasrgan_basicsr.cli.{module}')
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            torch.set_num_threads(1)  # torch's OpenMP pool does not survive a fork with several threads
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            real, calls = getattr(patched, function), [0]

            def killed(*args, **kwargs):
                calls[0] += 1
                if calls[0] == call:
                    os.kill(os.getpid(), signal.SIGKILL)
                return real(*args, **kwargs)

            setattr(patched, function, killed)
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                status = run_cli(script.main, [str(a) for a in argv], interrupted=INTERRUPTED)
        finally:
            os._exit(100)  # reached only when the kill never came
        os._exit(status)  # pragma: no cover
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def contents(folder):
    """``{relative path: sha256}`` of every file, LMDBs as ``{<lmdb>/<key>: sha256 of the value}`` (the bytes of
    data.mdb may legitimately differ between two writes of the same entries)."""
    folder, found = Path(folder), {}
    for path in sorted(folder.rglob('*')):
        relative = str(path.relative_to(folder))
        if path.is_dir() and path.suffix == '.lmdb':
            env = lmdb.open(str(path), readonly=True, lock=False)
            with env.begin() as txn:
                for key, value in txn.cursor():
                    found[f'{relative}/{bytes(key).decode()}'] = hashlib.sha256(value).hexdigest()
            env.close()
        elif path.is_file() and path.parent.suffix != '.lmdb' or path.name == 'meta_info.txt':
            found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def benchmark_downloads(root):
    write_images(root / 'Set5' / 'HR', {'1.png': (16, 16), '10.png': (16, 20), '2.png': (20, 16)})
    write_images(root / 'Set14', {'baboon.png': (24, 24), 'barbara.png': (17, 18)})
    return root


@pytest.fixture(scope='module')
def benchmark_reference(tmp_path_factory):
    """Downloads and the output of an uninterrupted ``prepare_benchmarks.py --lmdb`` run."""
    root = tmp_path_factory.mktemp('benchmarks')
    downloads = benchmark_downloads(root / 'downloads')
    code, _, stderr = run_main(prepare_benchmarks, '--input', downloads, '--output', root / 'reference', '--lmdb',
                               '--workers', 1)
    assert code == 0, stderr
    return downloads, contents(root / 'reference')


# Set5 is built first (3 pairs: 6 PNG writes), then Set14 (2 pairs: 4 writes); then the two sets are moved into place.
@pytest.mark.parametrize('function, call, where', [
    ('write_png', 8, 'while writing the second set'),
    ('write_lmdb', 3, "while writing the second set's HR LMDB"),
    ('move_into_place', 2, 'after the first set was moved into place'),
])
def test_benchmarks_killed_then_rerun_resume(benchmark_reference, tmp_path, function, call, where):
    downloads, reference = benchmark_reference
    out = tmp_path / 'out'
    argv = ['--input', downloads, '--output', out, '--lmdb', '--workers', 1]
    patch = {'write_lmdb': 'create_lmdb', 'move_into_place': 'staging'}.get(function)
    assert kill_at_call('prepare_benchmarks', function, call, argv, patch) == -signal.SIGKILL, where
    # the killed run left its lock file (unlocked: the rerun takes it over, and removes it when done)
    assert sorted(p.name for p in out.iterdir()) == ['.benchmarks.partial.lock'] + (
        ['Set5', 'benchmarks.partial'] if function == 'move_into_place' else ['benchmarks.partial']), where
    code, stdout, stderr = run_main(prepare_benchmarks, *argv)
    assert code == 0, (where, stderr)
    assert f'resuming the interrupted run kept in {out / "benchmarks.partial"}' in stdout, where
    assert contents(out) == reference, where
    assert partials(out) == []


def test_benchmarks_interrupted_then_rerun_with_other_settings_restart_cleanly(benchmark_reference, tmp_path):
    downloads, reference = benchmark_reference
    out = tmp_path / 'out'
    assert kill_at_call('prepare_benchmarks', 'write_png', 8, ['--input', downloads, '--output', out, '--workers',
                                                                1]) == -signal.SIGKILL
    code, _, stderr = run_main(prepare_benchmarks, '--input', downloads, '--output', out, '--lmdb', '--workers', 1)
    assert code == 0, stderr
    assert f'removing {out / "benchmarks.partial"} (made with other settings) and starting again' in stderr
    assert contents(out) == reference


def test_benchmarks_published_by_another_command_are_still_refused(benchmark_reference, tmp_path):
    """Killed while publishing without --lmdb; a rerun with --lmdb is another command: the published set exists."""
    downloads, _ = benchmark_reference
    out = tmp_path / 'out'
    assert kill_at_call('prepare_benchmarks', 'move_into_place', 2, ['--input', downloads, '--output', out,
                                                                      '--workers', 1], 'staging') == -signal.SIGKILL
    code, _, stderr = run_main(prepare_benchmarks, '--input', downloads, '--output', out, '--lmdb')
    assert code == 2
    assert f'error: output {out / "Set5"} already exists; pass --overwrite' in stderr


def realsr_source(root):
    """Canon train 64x64 (two 32-pixel crops each way) + test pairs for Canon and Nikon."""
    for camera, split, hr_size in (('Canon', 'Train', (64, 64)), ('Canon', 'Test', (16, 20)),
                                   ('Nikon', 'Test', (20, 16))):
        folder = root / camera / split / '4'
        hr = write_images(folder, {f'{camera}_001_HR.png': hr_size})[f'{camera}_001_HR.png']
        cv2.imwrite(str(folder / f'{camera}_001_LR4.png'), cv2.resize(hr, (hr_size[1] // 4, hr_size[0] // 4),
                                                                    interpolation=cv2.INTER_AREA))
    return root


@pytest.mark.parametrize('function, call, patch, where', [
    ('write_png', 4, 'prepare_realsr', 'while writing the test pairs'),
    ('move_into_place', 2, 'staging', 'after the train LMDBs were moved into place'),
])
def test_realsr_killed_then_rerun_resume(tmp_path, function, call, patch, where):
    source = realsr_source(tmp_path / 'RealSR(V3)')
    argv = ['--input', source, '--crop-size', 32, '--step', 32, '--workers', 1]
    code, _, stderr = run_main(prepare_realsr, *argv, '--output', tmp_path / 'reference')
    assert code == 0, stderr
    out = tmp_path / 'out'
    # train: 1 pair (2 writes); test: 2 pairs (4 writes); the 4th write is the second test image
    assert kill_at_call('prepare_realsr', function, call, [*argv, '--output', out], patch) == -signal.SIGKILL, where
    assert (out / 'train_HR_sub.lmdb').is_dir() == (function == 'move_into_place'), where
    code, stdout, stderr = run_main(prepare_realsr, *argv, '--output', out)
    assert code == 0, (where, stderr)
    assert f'resuming the interrupted run kept in {out / "realsr.partial"}' in stdout
    assert contents(out) == contents(tmp_path / 'reference')
    assert partials(out) == []


def test_div2k_killed_while_publishing_then_rerun_finishes(tmp_path):
    hr = tmp_path / 'DIV2K_train_HR'
    write_images(hr, {'0001.png': (40, 40), '0002.png': (32, 48)})
    argv = ['--input', hr, '--crop-size', 16, '--step', 16, '--scales', 2, 4, '--workers', 1]
    code, _, stderr = run_main(prepare_div2k, *argv, '--output', tmp_path / 'reference')
    assert code == 0, stderr
    out = tmp_path / 'out'
    assert kill_at_call('prepare_div2k', 'move_into_place', 2, [*argv, '--output', out], 'staging') == -signal.SIGKILL
    assert (out / 'DIV2K_train_HR_sub.lmdb').is_dir()  # the first output was moved into place before the kill
    code, stdout, _ = run_main(prepare_div2k, *argv, '--output', out)
    assert code == 0
    assert contents(out) == contents(tmp_path / 'reference')
    assert 'prepare_div2k: 2 images, 15 sub-images' in stdout  # 40x40: starts 0, 16, 24 (9); 32x48: 2 x 3 (6)
    assert partials(out) == []


def test_resumed_benchmark_pixels_are_exact(benchmark_reference, tmp_path):
    """Beyond equality with the reference: after a resume every LR entry is the MATLAB bicubic of its own HR."""
    from test_datasets_prep import lmdb_image, matlab_bicubic

    downloads, _ = benchmark_reference
    out = tmp_path / 'out'
    argv = ['--input', downloads, '--output', out, '--lmdb', '--workers', 1]
    assert kill_at_call('prepare_benchmarks', 'write_png', 3, argv) == -signal.SIGKILL
    assert run_main(prepare_benchmarks, *argv)[0] == 0
    for stem in ('1', '10', '2'):
        hr = cv2.imread(str(downloads / 'Set5' / 'HR' / f'{stem}.png'))
        hr = hr[:hr.shape[0] - hr.shape[0] % 4, :hr.shape[1] - hr.shape[1] % 4]
        assert np.array_equal(lmdb_image(out / 'Set5' / 'LR_bicubic_X4.lmdb', stem), matlab_bicubic(hr, 4))
