"""Property: whatever the file names, every prepared pair is the HR image and the LR made from that same HR.

Hypothesis draws benchmark sets of tiny noise images whose names are built from a small pool of tokens, so that
prefixes (``1``/``10``), digit runs of different lengths, spaces, non-ASCII letters, upper/lower case, dots inside
names, ``x4``-like suffixes and mixed extensions meet often; some sets come with shipped LR images under one of the
accepted namings. ``prepare_benchmarks.py`` either prepares the set, and then every HR key's LR, read back through
BasicSR's ``PairedImageDataset`` from the folders and from the LMDBs, is exactly the image made from that HR; or it
refuses the set with one ``error:`` line naming an offending file and writes nothing. It refuses exactly the sets
whose names would clash (same name ignoring case and extension) or, with ``--lmdb``, are not valid LMDB keys.
The examples are derandomized and bounded (25), so the test is deterministic and takes a few seconds.
"""
import contextlib
import tempfile
from pathlib import Path

import cv2
import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_datasets_prep import matlab_bicubic, paired_dataset, run_main

from fasrgan_basicsr.datasets_prep import prepare_benchmarks

SCALE = 4
TOKENS = ['1', '10', '2', '007', 'a', 'A', 'ab', 'Ab', 'x4', '_x4', ' ', 'é', 'ü', '.', '_', '-']
EXTENSIONS = {'.png': '.png', '.PNG': '.png', '.bmp': '.bmp', '.jpg': '.jpg', '.JPEG': '.jpg'}
LR_NAMINGS = ['{}x4', '{}_x4', '{}']

#: the tokens that make valid LMDB keys; half the examples use only these, so that LMDB sets are often prepared
KEY_TOKENS = [t for t in TOKENS if t.isascii() and t not in (' ', '.')]


def file_names(tokens):
    stems = st.lists(st.sampled_from(tokens), min_size=1, max_size=3).map(''.join)
    return st.tuples(stems.filter(lambda s: not s.startswith('.')), st.sampled_from(sorted(EXTENSIONS))).map(''.join)


name_lists = st.sampled_from([TOKENS, KEY_TOKENS]).flatmap(
    lambda tokens: st.lists(file_names(tokens), min_size=1, max_size=5, unique=True))
images = st.tuples(st.integers(8, 13), st.integers(8, 13), st.integers(0, 2**32 - 1))  # >= 2 LR pixels a side


def encoded(img, ext):
    ok, data = cv2.imencode(ext, img)
    assert ok
    return data.tobytes()


def as_bgr_uint8(tensor):
    """A BasicSR dataset tensor (RGB, CxHxW, [0, 1]) back to the 8-bit BGR image it was read from."""
    return (tensor.numpy().transpose(1, 2, 0)[:, :, ::-1] * 255).round().astype(np.uint8)


def valid_lmdb_key(stem):
    return stem.isascii() and '.' not in stem and not any(c.isspace() for c in stem)


def expected_refusal(names, make_lmdb):
    """The file names the script must refuse the set for, or [] when it must prepare it."""
    stems = [Path(n).stem for n in names]
    clashing = [n for n, s in zip(names, stems) if [t.lower() for t in stems].count(s.lower()) > 1]
    if clashing:
        return clashing
    return [n for n, s in zip(names, stems) if not valid_lmdb_key(s)] if make_lmdb else []


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(names=name_lists, data=st.data(), make_lmdb=st.booleans(),
       naming=st.sampled_from([None] + LR_NAMINGS))
def test_every_prepared_pair_is_its_own_hr_and_lr(names, data, make_lmdb, naming):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        hr_dir, lr_dir = tmp / 'dl' / 'Set5' / 'HR', tmp / 'dl' / 'Set5' / 'LR_bicubic' / 'X4'
        hr_dir.mkdir(parents=True)
        expected = {}  # stem -> (HR, LR) the prepared pair must hold
        for name in names:
            height, width, seed = data.draw(images, label=name)
            rng = np.random.default_rng(seed)
            (hr_dir / name).write_bytes(encoded(rng.integers(0, 256, (height, width, 3), np.uint8),
                                                EXTENSIONS[Path(name).suffix]))
            hr = cv2.imread(str(hr_dir / name))[:height - height % SCALE, :width - width % SCALE]  # as decoded
            lr = matlab_bicubic(hr, SCALE)
            if naming is not None:  # a shipped LR for every HR: other pixels than the bicubic, same size
                lr = rng.integers(0, 256, lr.shape, np.uint8)
                lr_dir.mkdir(parents=True, exist_ok=True)
                (lr_dir / f'{naming.format(Path(name).stem)}.png').write_bytes(encoded(lr, '.png'))
            expected[Path(name).stem] = (hr, lr)

        out = tmp / 'out'
        argv = ['--input', tmp / 'dl', '--output', out, '--workers', 1] + (['--lmdb'] if make_lmdb else [])
        with contextlib.redirect_stderr(None):
            code, _, stderr = run_main(prepare_benchmarks, *argv)
        refused_for = expected_refusal(names, make_lmdb)
        event('refused' if refused_for else f'prepared ({"lmdb" if make_lmdb else "folders"}, '
              f'{"shipped LR" if naming else "bicubic LR"})')
        if refused_for:
            assert code == 2, (names, stderr)
            assert stderr.startswith('error: ') and stderr.count('\n') == 1, stderr
            assert any(name in stderr for name in refused_for), (refused_for, stderr)
            assert not out.exists()
            return
        assert code == 0, (names, naming, stderr)

        backends = [('disk', out / 'Set5' / 'HR', out / 'Set5' / 'LR_bicubic' / 'X4')]
        if make_lmdb:
            backends.append(('lmdb', out / 'Set5' / 'HR.lmdb', out / 'Set5' / 'LR_bicubic_X4.lmdb'))
        for backend, gt, lq in backends:
            dataset = paired_dataset(gt, lq, SCALE, backend=backend, filename_tmpl='{}x4')
            assert len(dataset) == len(names)
            seen = set()
            for item in (dataset[i] for i in range(len(dataset))):
                key = Path(item['gt_path']).stem if backend == 'disk' else item['gt_path']
                hr, lr = expected[key]
                assert Path(item['lq_path']).name == (f'{key}x4.png' if backend == 'disk' else key)
                assert np.array_equal(as_bgr_uint8(item['gt']), hr), (backend, key)
                assert np.array_equal(as_bgr_uint8(item['lq']), lr), (backend, key)
                seen.add(key)
            assert seen == set(expected)
