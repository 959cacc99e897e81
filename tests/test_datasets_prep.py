"""datasets_prep: the real scripts on small datasets cut from scikit-image's photographs, read back by BasicSR.

Sub-image counts below are worked out by hand for a 48x48 crop every 24 pixels (BasicSR's recipe at 1/10 scale):
a side of 100 gives starts 0, 24, 48 and the flush 52 (4 crops); 96 gives 0, 24, 48 (3); 72 gives 0, 24 (2);
120 gives 0, 24, 48, 72 (4); 130 gives 0, 24, 48, 72 and the flush 82 (5).
"""
import contextlib
import hashlib
import importlib
import io
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import cv2
import lmdb
import numpy as np
import pytest
import yaml
from skimage import data

ROOT = Path(__file__).resolve().parents[1]
SHARED_BENCHMARKS = Path(__file__).resolve().parents[1].parent / 'shared' / 'benchmarks'
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import fasrgan_basicsr  # noqa: E402,F401  (makes basicsr importable on current torchvision)

# isort: split
from basicsr.data.paired_image_dataset import PairedImageDataset  # noqa: E402
from basicsr.utils.matlab_functions import imresize  # noqa: E402

from fasrgan_basicsr.cli import prepare_benchmarks as cli_prepare_benchmarks  # noqa: E402
from fasrgan_basicsr.cli import prepare_div2k as cli_prepare_div2k  # noqa: E402
from fasrgan_basicsr.cli import prepare_realsr as cli_prepare_realsr  # noqa: E402
from fasrgan_basicsr.datasets_prep import (  # noqa: E402
    create_lmdb,
    extract_subimages,
    generate_bicubic_lr,
    prepare_benchmarks,
    prepare_div2k,
    prepare_realsr,
)
from fasrgan_basicsr.datasets_prep.common import INTERRUPTED, PrepError, parallel_map  # noqa: E402
from fasrgan_basicsr.utils.cli import run_cli  # noqa: E402

CROP, STEP = 48, 24
#: name -> (photo, rows, cols, sub-images at 48/24)
PHOTOS = {
    'astronaut': (data.astronaut, slice(0, 100), slice(0, 130), 4 * 5),
    'chelsea': (data.chelsea, slice(50, 122), slice(100, 220), 2 * 4),
    'coffee': (data.coffee, slice(0, 96), slice(100, 196), 3 * 3),
}
TOTAL_SUBIMAGES = 37
SCRIPTS = ('extract_subimages', 'generate_bicubic_lr', 'create_lmdb', 'prepare_div2k', 'prepare_benchmarks',
           'prepare_realsr')


# ----------------------------------------------------------------------------------------------------------- helpers
def photo(name):
    """The BGR crop of a scikit-image photograph that the test datasets use."""
    make, rows, cols, _ = PHOTOS[name]
    return np.ascontiguousarray(make()[rows, cols][:, :, ::-1])


def write_photos(folder, names=tuple(PHOTOS)):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        cv2.imwrite(str(folder / f'{name}.png'), photo(name))
    return folder


def run_main(module, *argv):
    """Run the command of a preparation step (``fasrgan_basicsr.cli.<step>`` for the library module
    ``fasrgan_basicsr.datasets_prep.<step>``) through its CLI runner: ``(exit status, stdout, stderr)``."""
    command = importlib.import_module(f'fasrgan_basicsr.cli.{module.__name__.rsplit(".", 1)[1]}')
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run_cli(command.main, [str(a) for a in argv], interrupted=INTERRUPTED)
    return code, out.getvalue(), err.getvalue()


def digest(path):
    """``{relative file: sha256}`` of a file tree, to prove an output was not touched."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob('*') if p.is_file())
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def lmdb_image(lmdb_path, key):
    env = lmdb.open(str(lmdb_path), readonly=True, lock=False)
    with env.begin() as txn:
        value = txn.get(key.encode())
    env.close()
    return cv2.imdecode(np.frombuffer(value, np.uint8), cv2.IMREAD_UNCHANGED)


def matlab_bicubic(img, scale):
    """BasicSR's MATLAB imresize applied directly, the reference for generated LR images."""
    return np.clip(np.round(imresize(img / 255., 1 / scale) * 255.), 0, 255).astype(np.uint8)


def paired_dataset(gt, lq, scale, backend='lmdb', phase='val', **extra):
    opt = {'dataroot_gt': str(gt), 'dataroot_lq': str(lq), 'io_backend': {'type': backend}, 'scale': scale,
           'phase': phase, **extra}
    return PairedImageDataset(opt)


def corrupt_pixels(path):
    """Break a PNG's pixel data but keep its header and IEND: it passes the pre-scan and fails to decode."""
    raw = bytearray(Path(path).read_bytes())
    middle = len(raw) // 2
    raw[middle:middle + 64] = b'\x00' * 64
    Path(path).write_bytes(bytes(raw))


def partials(folder):
    return sorted(p.name for p in Path(folder).rglob('*partial*'))


@contextlib.contextmanager
def file_size_limit(limit):
    """Make writes past ``limit`` bytes fail with EFBIG, as a full disk would (Python ignores SIGXFSZ)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


@contextlib.contextmanager
def not_writable(folder):
    """Make ``folder`` unwritable for this process: chmod for a normal user, an unprivileged euid for root."""
    if os.geteuid() == 0:
        os.seteuid(65534)
        try:
            yield
        finally:
            os.seteuid(0)
    else:
        os.chmod(folder, 0o555)
        try:
            yield
        finally:
            os.chmod(folder, 0o755)


# ---------------------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope='module')
def hr_dir(tmp_path_factory):
    return write_photos(tmp_path_factory.mktemp('div2k') / 'DIV2K_train_HR')


@pytest.fixture(scope='module')
def div2k(hr_dir):
    """One run of ``prepare_div2k.py`` with x2 and x4 and the PNG folders kept."""
    out = hr_dir.parent / 'out'
    result = run_main(prepare_div2k, '--input', hr_dir, '--output', out, '--scales', 2, 4, '--crop-size', CROP,
                      '--step', STEP, '--keep-folders', '--workers', 2)
    return out, result


# ------------------------------------------------------------------------------------------------------ the recipe
def test_subimage_starts_follow_basicsr_recipe():
    starts = extract_subimages.subimage_starts
    assert starts(100, 48, 24, 0) == [0, 24, 48, 52]
    assert starts(96, 48, 24, 0) == [0, 24, 48]
    assert starts(100, 48, 24, 4) == [0, 24, 48]  # 4 pixels left: not more than thresh_size, no flush crop
    assert starts(2040, 480, 240, 0) == [0, 240, 480, 720, 960, 1200, 1440, 1560]
    assert starts(40, 48, 24, 0) == []
    assert extract_subimages.subimage_name('0001', 1) == '0001_s001'


# ------------------------------------------------------------------------------------------------------------ DIV2K
def test_div2k_lmdbs_pair_in_basicsr_paired_dataset(div2k):
    out, (code, stdout, stderr) = div2k
    assert code == 0, stderr
    assert f'prepare_div2k: 3 images, {TOTAL_SUBIMAGES} sub-images' in stdout
    gt = out / 'DIV2K_train_HR_sub.lmdb'
    meta = (gt / 'meta_info.txt').read_text().splitlines()
    assert len(meta) == TOTAL_SUBIMAGES
    assert meta[0] == 'astronaut_s001.png (48,48,3) 1'
    for scale in (2, 4):
        lq = out / f'DIV2K_train_LR_bicubic_X{scale}_sub.lmdb'
        lq_meta = (lq / 'meta_info.txt').read_text().splitlines()
        assert [line.split()[0] for line in lq_meta] == [line.split()[0] for line in meta]
        assert all(line.endswith(f' ({CROP // scale},{CROP // scale},3) 1') for line in lq_meta)
        dataset = paired_dataset(gt, lq, scale, phase='train', gt_size=CROP, use_hflip=False, use_rot=False)
        assert len(dataset) == TOTAL_SUBIMAGES
        item = dataset[0]
        assert item['gt_path'] == item['lq_path'] == 'astronaut_s001'
        assert tuple(item['gt'].shape) == (3, CROP, CROP)
        assert tuple(item['lq'].shape) == (3, CROP // scale, CROP // scale)
    assert not (out / 'DIV2K_train_LR_bicubic_X3_sub.lmdb').exists()
    assert partials(out) == []


def test_div2k_pixels_are_crops_and_matlab_bicubic(div2k):
    out, _ = div2k
    gt = lmdb_image(out / 'DIV2K_train_HR_sub.lmdb', 'astronaut_s005')  # first row, flush-right crop
    assert np.array_equal(gt, photo('astronaut')[0:48, 82:130])
    assert np.array_equal(lmdb_image(out / 'DIV2K_train_HR_sub.lmdb', 'astronaut_s020'),
                          photo('astronaut')[52:100, 82:130])
    lq = lmdb_image(out / 'DIV2K_train_LR_bicubic_X4_sub.lmdb', 'astronaut_s005')
    assert np.array_equal(lq, matlab_bicubic(gt, 4))
    opencv = cv2.resize(gt, (12, 12), interpolation=cv2.INTER_CUBIC)
    assert np.abs(lq.astype(int) - opencv).max() > 2  # not OpenCV's bicubic


def test_div2k_kept_folders_read_with_disk_backend(div2k):
    out, _ = div2k
    dataset = paired_dataset(out / 'DIV2K_train_HR_sub', out / 'DIV2K_train_LR_bicubic' / 'X4_sub', 4, backend='disk',
                             filename_tmpl='{}')
    assert len(dataset) == TOTAL_SUBIMAGES
    assert tuple(dataset[3]['lq'].shape) == (3, 12, 12)
    assert sorted(p.name for p in (out / 'DIV2K_train_HR_sub').iterdir())[:2] == ['astronaut_s001.png',
                                                                                   'astronaut_s002.png']


@pytest.mark.subprocess
def test_single_steps_reproduce_the_pipeline(div2k, hr_dir, tmp_path):
    out, _ = div2k
    sub = tmp_path / 'sub'
    proc = subprocess.run([sys.executable, 'datasets_prep/extract_subimages.py', '--input', str(hr_dir), '--output',
                           str(sub), '--crop-size', str(CROP), '--step', str(STEP), '--workers', '2'],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f'extract_subimages: 3 images, {TOTAL_SUBIMAGES} sub-images' in proc.stdout
    assert digest(sub) == digest(out / 'DIV2K_train_HR_sub')

    code, stdout, stderr = run_main(generate_bicubic_lr, '--input', sub, '--output', tmp_path / 'lr', '--scale', 4)
    assert code == 0, stderr
    assert digest(tmp_path / 'lr') == digest(out / 'DIV2K_train_LR_bicubic' / 'X4_sub')

    code, stdout, stderr = run_main(create_lmdb, '--input', tmp_path / 'lr', '--output', tmp_path / 'lr.lmdb')
    assert code == 0, stderr
    assert f'verified {tmp_path / "lr.lmdb"}: {TOTAL_SUBIMAGES} keys = meta_info lines = input images' in stdout
    assert ((tmp_path / 'lr.lmdb' / 'meta_info.txt').read_text()
            == (out / 'DIV2K_train_LR_bicubic_X4_sub.lmdb' / 'meta_info.txt').read_text())


@pytest.mark.subprocess
@pytest.mark.parametrize('script', SCRIPTS)
def test_every_script_has_help_and_the_common_flags(script):
    proc = subprocess.run([sys.executable, f'datasets_prep/{script}.py', '--help'], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for flag in ('--input', '--output', '--workers', '--overwrite'):
        assert flag in proc.stdout
    if script in ('generate_bicubic_lr', 'prepare_benchmarks', 'prepare_realsr'):
        assert '--scale ' in proc.stdout
    if script == 'prepare_div2k':
        assert '--scales' in proc.stdout


def test_default_paths_are_the_agreed_ones():
    args = cli_prepare_div2k.parse_args([])
    assert (args.input, args.output, args.scales, args.thresh_size) == ('datasets/DIV2K/DIV2K_train_HR',
                                                                        'datasets/DIV2K', [4], 0)
    release = cli_prepare_div2k.parse_args(['--profile', 'authors_release'])  # extract_subimgs_single.py: 48
    assert (release.input, release.output, release.thresh_size) == ('datasets/DIV2K/DIV2K_train_HR',
                                                                    'datasets/DIV2K_authors_release', 48)
    assert cli_prepare_div2k.parse_args(['--profile', 'authors_release', '--thresh-size', '0']).thresh_size == 0
    assert [str(p) for p in prepare_div2k.output_paths(args.output, [2, 3, 4], False).values()] == [
        'datasets/DIV2K/DIV2K_train_HR_sub.lmdb', 'datasets/DIV2K/DIV2K_train_LR_bicubic_X2_sub.lmdb',
        'datasets/DIV2K/DIV2K_train_LR_bicubic_X3_sub.lmdb', 'datasets/DIV2K/DIV2K_train_LR_bicubic_X4_sub.lmdb']
    assert cli_prepare_benchmarks.build_parser().parse_args(['--input', 'x']).output == 'datasets/benchmarks'
    assert set(prepare_benchmarks.BENCHMARKS) == {'Set5', 'Set14', 'BSD100', 'Urban100', 'Manga109', 'DIV2K_val',
                                                  'PIRM_val', 'PIRM_test'}
    realsr = cli_prepare_realsr.build_parser().parse_args([])
    assert (realsr.input, realsr.output, realsr.scale) == ('datasets/RealSR(V3)', 'datasets/RealSR_V3', 4)


def test_option_files_read_only_paths_these_scripts_write():
    """Every DIV2K, benchmark and RealSR path in options/*.yml is one that a script here writes by default."""
    written = {str(p) for profile in prepare_div2k.PROFILES.values()
               for p in prepare_div2k.output_paths(profile['output'], [2, 3, 4], True).values()}
    for name in prepare_benchmarks.BENCHMARKS:
        written |= {f'datasets/benchmarks/{name}/{p}' for p in ('HR', 'LR_bicubic/X4', 'HR.lmdb',
                                                                'LR_bicubic_X4.lmdb')}
    written |= {f'datasets/RealSR_V3/{p}' for p in ('test/HR', 'test/LR_x4', 'train_HR_sub.lmdb',
                                                    'train_LR_x4_sub.lmdb')}
    used, ours = set(), ('datasets/DIV2K/', 'datasets/DIV2K_authors_release/', 'datasets/benchmarks/',
                         'datasets/RealSR_V3/')
    for option_file in sorted((ROOT / 'options').rglob('*.yml')):
        for dataset in (yaml.safe_load(option_file.read_text()) or {}).get('datasets', {}).values():
            used |= {v for k, v in dataset.items() if k.startswith('dataroot') and str(v).startswith(ours)}
    if not used:
        pytest.skip('no option file reads DIV2K, benchmark or RealSR data yet')
    assert used <= written, f'option files read paths nothing here writes: {sorted(used - written)}'


# ---------------------------------------------------------------------------------------------------- MATLAB match
@pytest.mark.skipif(not SHARED_BENCHMARKS.is_dir(), reason='../shared/benchmarks is absent (a user clone)')
def test_set5_x4_matches_matlab_within_two_grey_levels(tmp_path):
    code, _, stderr = run_main(generate_bicubic_lr, '--input', SHARED_BENCHMARKS / 'Set5' / 'HR', '--output',
                               tmp_path / 'X4', '--scale', 4, '--filename-tmpl', '{}x4')
    assert code == 0, stderr
    shipped = sorted((SHARED_BENCHMARKS / 'Set5' / 'LR_bicubic' / 'X4').glob('*.png'))
    assert [p.name for p in shipped] == sorted(p.name for p in (tmp_path / 'X4').iterdir())
    assert len(shipped) == 5
    for matlab in shipped:
        ours = cv2.imread(str(tmp_path / 'X4' / matlab.name)).astype(int)
        reference = cv2.imread(str(matlab)).astype(int)
        assert ours.shape == reference.shape, matlab.name
        assert np.abs(ours - reference).max() <= 2, matlab.name


# ------------------------------------------------------------------------------------------------------- benchmarks
def make_benchmark_downloads(root):
    """Set14: a flat HR-only folder (one image 130x101, not a multiple of 4; one grey); B100: HR + shipped LR."""
    astronaut = np.ascontiguousarray(data.astronaut()[:101, :130, ::-1])
    (root / 'Set14').mkdir(parents=True)
    cv2.imwrite(str(root / 'Set14' / 'astronaut.png'), astronaut)
    cv2.imwrite(str(root / 'Set14' / 'camera.png'), data.camera()[:64, :64])
    write_photos(root / 'B100' / 'HR', ['coffee'])
    shipped = cv2.resize(photo('coffee'), (24, 24), interpolation=cv2.INTER_AREA)
    (root / 'B100' / 'LR_bicubic' / 'X4').mkdir(parents=True)
    cv2.imwrite(str(root / 'B100' / 'LR_bicubic' / 'X4' / 'coffeex4.png'), shipped)
    return astronaut, shipped


def test_benchmarks_folders_and_lmdbs(tmp_path):
    downloads, out = tmp_path / 'downloads', tmp_path / 'benchmarks'
    downloads.mkdir()
    cv2.imwrite(str(downloads / 'unrelated.png'), photo('coffee'))
    astronaut, shipped = make_benchmark_downloads(downloads)
    code, stdout, stderr = run_main(prepare_benchmarks, '--input', downloads, '--output', out, '--lmdb')
    assert code == 0, stderr
    assert 'mod-cropped 1 HR image(s) to a multiple of 4: astronaut.png (130x101 -> 128x100)' in stderr
    assert 'mixed grey/RGB input: 1 grey image(s) converted to 3 channels: camera.png' in stderr
    assert 'Set14: 2 pairs, LR generated (bicubic) for all 2, LMDBs verified' in stdout
    assert 'BSD100: 1 pairs, LR shipped for 1, generated for 0, LMDBs verified' in stdout
    assert 'skipped): Set5, Urban100, Manga109, DIV2K_val, PIRM_val, PIRM_test, RealSR_V3' in stdout

    assert np.array_equal(cv2.imread(str(out / 'Set14' / 'HR' / 'astronaut.png')), astronaut[:100, :128])
    lr = cv2.imread(str(out / 'Set14' / 'LR_bicubic' / 'X4' / 'astronautx4.png'))
    assert np.array_equal(lr, matlab_bicubic(astronaut[:100, :128], 4))
    assert np.array_equal(cv2.imread(str(out / 'BSD100' / 'LR_bicubic' / 'X4' / 'coffeex4.png')), shipped)
    grey_lr = cv2.imread(str(out / 'Set14' / 'LR_bicubic' / 'X4' / 'camerax4.png'), cv2.IMREAD_UNCHANGED)
    assert grey_lr.shape == (16, 16, 3) and np.array_equal(grey_lr[:, :, 0], grey_lr[:, :, 2])

    for backend, gt, lq in (('disk', 'HR', 'LR_bicubic/X4'), ('lmdb', 'HR.lmdb', 'LR_bicubic_X4.lmdb')):
        dataset = paired_dataset(out / 'Set14' / gt, out / 'Set14' / lq, 4, backend=backend, filename_tmpl='{}x4')
        assert len(dataset) == 2
        item = next(dataset[i] for i in range(2) if Path(dataset[i]['gt_path']).stem == 'astronaut')
        assert tuple(item['gt'].shape) == (3, 100, 128) and tuple(item['lq'].shape) == (3, 25, 32)
    assert partials(out) == []

    before = digest(out)
    code, _, stderr = run_main(prepare_benchmarks, '--input', downloads, '--output', out, '--sets', 'Set14')
    assert code == 2
    assert f'error: output {out / "Set14"} already exists; pass --overwrite to replace it' in stderr
    assert digest(out) == before


def test_benchmarks_refuse_shipped_lr_of_the_wrong_size(tmp_path):
    downloads = tmp_path / 'downloads'
    write_photos(downloads / 'BSD100' / 'HR', ['coffee'])
    (downloads / 'BSD100' / 'LR_bicubic' / 'X4').mkdir(parents=True)
    cv2.imwrite(str(downloads / 'BSD100' / 'LR_bicubic' / 'X4' / 'coffeex4.png'), photo('coffee')[:92:4, ::4])
    code, _, stderr = run_main(prepare_benchmarks, '--input', downloads, '--output', tmp_path / 'out')
    assert code == 2
    assert 'coffeex4.png: 24x23, expected 24x24 (1/4 of coffee.png mod-cropped)' in stderr
    assert '--regenerate-lr' in stderr
    assert not (tmp_path / 'out' / 'BSD100').exists() and partials(tmp_path) == []
    code, _, stderr = run_main(prepare_benchmarks, '--input', downloads, '--output', tmp_path / 'out',
                               '--regenerate-lr')
    assert code == 0, stderr


def test_benchmarks_report_a_named_set_that_is_missing(tmp_path):
    code, _, stderr = run_main(prepare_benchmarks, '--input', tmp_path, '--sets', 'Urban100')
    assert code == 2 and f'not found in {tmp_path}: Urban100' in stderr


# ------------------------------------------------------------------------------------------------------------ RealSR
def write_realsr(root, same_size_nikon=True):
    """A RealSR(V3)-shaped tree: real-camera-like LR made with OpenCV's area filter (never MATLAB bicubic)."""
    def pair(camera, split, number, hr, lr_size=None, upsample=False):
        folder = root / camera / split / '4'
        folder.mkdir(parents=True, exist_ok=True)
        height, width = hr.shape[:2]
        lr_w, lr_h = lr_size or (width // 4, height // 4)
        lr = cv2.resize(hr, (lr_w, lr_h), interpolation=cv2.INTER_AREA)
        if upsample:
            lr = cv2.resize(lr, (width, height), interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(folder / f'{camera}_{number:03d}_HR.png'), hr)
        cv2.imwrite(str(folder / f'{camera}_{number:03d}_LR4.png'), lr)
        return lr

    astronaut, coffee = data.astronaut()[:, :, ::-1], data.coffee()[:, :, ::-1]
    lrs = {'canon1': pair('Canon', 'Train', 1, np.ascontiguousarray(astronaut[:96, :120])),  # 3 x 4 = 12
           'canon2': pair('Canon', 'Train', 2, np.ascontiguousarray(coffee[:99, :101])),  # 96x100: 3 x 4 = 12
           'nikon1': pair('Nikon', 'Train', 1, np.ascontiguousarray(coffee[100:172, 200:296]),
                          upsample=same_size_nikon),  # 72x96: 2 x 3 = 6
           'test1': pair('Canon', 'Test', 1, np.ascontiguousarray(astronaut[200:264, 200:280])),
           'test2': pair('Nikon', 'Test', 1, np.ascontiguousarray(coffee[:80, :64]))}
    return lrs


def test_realsr_pairs_and_lmdbs(tmp_path):
    source, out = tmp_path / 'RealSR(V3)', tmp_path / 'RealSR_V3'
    lrs = write_realsr(source)
    code, stdout, stderr = run_main(prepare_realsr, '--input', source, '--output', out, '--crop-size', CROP,
                                    '--step', STEP)
    assert code == 0, stderr
    assert ('train: 1 LR image(s) had their HR size (pre-upsampled); downscaled by 1/4 with MATLAB bicubic: '
            'Nikon_001') in stderr
    assert 'train: 1 pair(s) cropped to exactly x4: Canon_002 (HR 101x99 -> 100x96)' in stderr
    assert 'prepare_realsr: 5 pairs, 30 sub-images' in stdout

    assert sorted(p.name for p in (out / 'test' / 'HR').iterdir()) == ['Canon_001.png', 'Nikon_001.png']
    assert sorted(p.name for p in (out / 'test' / 'LR_x4').iterdir()) == ['Canon_001.png', 'Nikon_001.png']
    assert np.array_equal(cv2.imread(str(out / 'test' / 'LR_x4' / 'Canon_001.png')), lrs['test1'])  # as shipped
    test_set = paired_dataset(out / 'test' / 'HR', out / 'test' / 'LR_x4', 4, backend='disk', filename_tmpl='{}')
    assert len(test_set) == 2
    nikon = next(test_set[i] for i in range(2) if Path(test_set[i]['lq_path']).name == 'Nikon_001.png')
    assert tuple(nikon['gt'].shape) == (3, 80, 64) and tuple(nikon['lq'].shape) == (3, 20, 16)

    gt_lmdb, lq_lmdb = out / 'train_HR_sub.lmdb', out / 'train_LR_x4_sub.lmdb'
    assert len((gt_lmdb / 'meta_info.txt').read_text().splitlines()) == 30
    # the flush-right crop of Canon_001: GT columns 72..120, LR columns 18..30, the shipped LR untouched
    assert np.array_equal(lmdb_image(lq_lmdb, 'Canon_001_s004'), lrs['canon1'][0:12, 18:30])
    hr = cv2.imread(str(source / 'Canon' / 'Train' / '4' / 'Canon_001_HR.png'))
    assert np.array_equal(lmdb_image(gt_lmdb, 'Canon_001_s004'), hr[0:48, 72:120])
    nikon_lr = lmdb_image(lq_lmdb, 'Nikon_001_s001')
    assert np.array_equal(nikon_lr, matlab_bicubic(lrs['nikon1'], 4)[0:12, 0:12])
    train_set = paired_dataset(gt_lmdb, lq_lmdb, 4, phase='train', gt_size=CROP, use_hflip=True, use_rot=True)
    assert len(train_set) == 30
    assert tuple(train_set[7]['gt'].shape) == (3, 48, 48) and tuple(train_set[7]['lq'].shape) == (3, 12, 12)
    assert partials(out) == []


def test_realsr_refuses_same_size_lr_when_asked(tmp_path):
    source = tmp_path / 'RealSR(V3)'
    write_realsr(source)
    code, _, stderr = run_main(prepare_realsr, '--input', source, '--output', tmp_path / 'out', '--splits', 'train',
                               '--same-size-lr', 'error')
    assert code == 2
    assert 'Nikon_001_LR4.png: LR has the HR size 96x72 (pre-upsampled)' in stderr
    assert not (tmp_path / 'out').exists() or list((tmp_path / 'out').iterdir()) == []


def test_realsr_pair_planning():
    plan = prepare_realsr.plan_pair
    assert plan((96, 120), (24, 30), 4, 'downscale') == ('keep', (24, 30))
    assert plan((99, 101), (24, 25), 4, 'downscale') == ('keep', (24, 25))
    assert plan((99, 101), (25, 26), 4, 'downscale') == ('keep', (24, 25))  # LR rounded up: crop it too
    assert plan((96, 120), (96, 120), 4, 'downscale') == ('downscale', (24, 30))
    assert 'pre-upsampled' in plan((96, 120), (96, 120), 4, 'error')
    assert plan((96, 120), (30, 30), 4, 'downscale') == 'LR 30x30 is neither 1/4 of HR 120x96 nor the same size'


def test_realsr_unpaired_file_is_named(tmp_path):
    source = tmp_path / 'RealSR(V3)'
    write_realsr(source)
    (source / 'Canon' / 'Test' / '4' / 'Canon_001_LR4.png').unlink()
    code, _, stderr = run_main(prepare_realsr, '--input', source, '--output', tmp_path / 'out', '--splits', 'test')
    assert code == 2 and 'Canon_001: only HR found' in stderr


# ------------------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize('module', [extract_subimages, generate_bicubic_lr, create_lmdb])
def test_missing_or_empty_input_folder(module, tmp_path):
    output = tmp_path / ('out.lmdb' if module is create_lmdb else 'out')
    code, _, stderr = run_main(module, '--input', tmp_path / 'nowhere', '--output', output)
    assert code == 2 and stderr == f'error: input folder {tmp_path / "nowhere"} does not exist\n'
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'empty' / 'notes.txt').write_text('not an image')
    code, _, stderr = run_main(module, '--input', tmp_path / 'empty', '--output', output)
    assert code == 2 and f'error: input folder {tmp_path / "empty"} holds no images' in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ['empty']


@pytest.mark.subprocess
def test_missing_div2k_folder_exits_2_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, 'datasets_prep/prepare_div2k.py', '--input', str(tmp_path / 'DIV2K_HR'),
                           '--output', str(tmp_path / 'out')], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr == f'error: DIV2K HR folder {tmp_path / "DIV2K_HR"} does not exist\n'


@pytest.mark.parametrize('module', [extract_subimages, generate_bicubic_lr, create_lmdb])
def test_unreadable_and_truncated_images_are_named_and_the_old_output_survives(module, tmp_path, hr_dir):
    output = tmp_path / ('out.lmdb' if module is create_lmdb else 'out')
    extra = ['--crop-size', CROP, '--step', STEP] if module is extract_subimages else []
    assert run_main(module, '--input', hr_dir, '--output', output, *extra)[0] == 0
    before = digest(output)

    bad = write_photos(tmp_path / 'bad', ['astronaut', 'coffee'])
    full = (bad / 'coffee.png').read_bytes()
    (bad / 'coffee.png').write_bytes(full[:len(full) // 2])
    (bad / 'notes.png').write_text('this is text, not a PNG')
    (bad / 'empty.png').write_bytes(b'')
    cv2.imwrite(str(bad / 'deep.png'), photo('chelsea').astype(np.uint16) * 257)
    code, _, stderr = run_main(module, '--input', bad, '--output', output, '--overwrite', *extra)
    assert code == 2
    assert 'error: 4 input image(s) cannot be used (fix or remove them; nothing was written):' in stderr
    assert f'{bad / "deep.png"}: 16-bit pixels: only 8-bit images are supported' in stderr
    assert f'{bad / "coffee.png"}: truncated: the PNG ends before its IEND chunk' in stderr
    assert f'{bad / "notes.png"}: not a readable image (unknown or corrupt format)' in stderr
    assert f'{bad / "empty.png"}: empty file (0 bytes)' in stderr
    assert digest(output) == before and partials(tmp_path) == []


def test_corrupt_pixels_fail_by_name_and_leave_no_lmdb(tmp_path, hr_dir):
    images = write_photos(tmp_path / 'in')
    corrupt_pixels(images / 'chelsea.png')
    output = tmp_path / 'out.lmdb'
    code, _, stderr = run_main(create_lmdb, '--input', images, '--output', output)
    assert code == 2
    assert f'error: {images / "chelsea.png"}: cannot decode the image (corrupt or truncated file)' in stderr
    assert f'the incomplete output {tmp_path / "out.partial.lmdb"} was removed' in stderr
    assert not output.exists() and partials(tmp_path) == []


def test_mod_crop_is_reported(tmp_path):
    images = tmp_path / 'hr'
    images.mkdir()
    cv2.imwrite(str(images / 'odd.png'), photo('astronaut')[:99, :126])
    code, stdout, stderr = run_main(generate_bicubic_lr, '--input', images, '--output', tmp_path / 'lr')
    assert code == 0, stderr
    assert 'warning: mod-cropped 1 HR image(s) to a multiple of 4: odd.png (126x99 -> 124x96)' in stderr
    lr = cv2.imread(str(tmp_path / 'lr' / 'odd.png'))
    assert lr.shape == (24, 31, 3)
    assert np.array_equal(lr, matlab_bicubic(photo('astronaut')[:96, :124], 4))


def test_mixed_grey_and_rgb_become_three_channels(tmp_path):
    images = write_photos(tmp_path / 'in', ['coffee'])
    grey = data.camera()[:40, :56]
    cv2.imwrite(str(images / 'camera.png'), grey)
    code, stdout, stderr = run_main(create_lmdb, '--input', images, '--output', tmp_path / 'mixed.lmdb')
    assert code == 0, stderr
    assert 'warning: mixed grey/RGB input: 1 grey image(s) converted to 3 channels: camera.png' in stderr
    meta = (tmp_path / 'mixed.lmdb' / 'meta_info.txt').read_text().splitlines()
    assert meta == ['camera.png (40,56,3) 1', 'coffee.png (96,96,3) 1']
    stored = lmdb_image(tmp_path / 'mixed.lmdb', 'camera')
    assert all(np.array_equal(stored[:, :, c], grey) for c in range(3))


def test_lmdb_keys_must_survive_basicsr_meta_info_parsing(tmp_path):
    images = write_photos(tmp_path / 'in', ['coffee'])
    shutil.copy(images / 'coffee.png', images / 'coffee.v2.png')
    code, _, stderr = run_main(create_lmdb, '--input', images, '--output', tmp_path / 'out.lmdb')
    assert code == 2 and 'without dots or spaces' in stderr and 'rename: coffee.v2.png' in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ['in']


def test_existing_output_is_refused_then_swapped_with_overwrite(tmp_path, hr_dir):
    output = tmp_path / 'hr.lmdb'
    assert run_main(create_lmdb, '--input', hr_dir, '--output', output)[0] == 0
    before = digest(output)
    code, _, stderr = run_main(create_lmdb, '--input', hr_dir, '--output', output)
    assert code == 2
    assert stderr == (f'error: output {output} already exists; pass --overwrite to replace it '
                      f'(it was left untouched)\n')
    assert digest(output) == before
    code, _, stderr = run_main(create_lmdb, '--input', hr_dir, '--output', output, '--overwrite', '--compress-level',
                               9)
    assert code == 0, stderr
    assert (output / 'meta_info.txt').read_text().splitlines()[0] == 'astronaut.png (100,130,3) 9'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['hr.lmdb']


def test_lmdb_verification_catches_inconsistent_lmdbs(div2k):
    out, _ = div2k
    good = out / 'DIV2K_train_LR_bicubic_X4_sub.lmdb'
    assert create_lmdb.verify_lmdb(good, TOTAL_SUBIMAGES) == TOTAL_SUBIMAGES
    with pytest.raises(PrepError, match='37 keys, 37 meta_info lines, 38 inputs'):
        create_lmdb.verify_lmdb(good, 38)
    broken = out.parent / 'broken.lmdb'
    shutil.copytree(good, broken)
    meta = broken / 'meta_info.txt'
    meta.write_text(meta.read_text().replace('astronaut_s001.png (12,12,3)', 'astronaut_s001.png (12,13,3)'))
    with pytest.raises(PrepError, match=r'entry astronaut_s001 decodes to \(12, 12, 3\), meta_info records '
                                        r'\(12, 13, 3\)'):
        create_lmdb.verify_lmdb(broken, TOTAL_SUBIMAGES)
    meta.write_text('\n'.join(meta.read_text().splitlines()[1:]) + '\n')
    with pytest.raises(PrepError, match='hold different keys'):
        create_lmdb.verify_pair(out / 'DIV2K_train_HR_sub.lmdb', broken, 4)


# ---------------------------------------------------------------------------------------- interruptions and disks
def test_interrupted_extraction_resumes_where_it_stopped(tmp_path, hr_dir, div2k, monkeypatch):
    real_write, writes = extract_subimages.write_png, []

    def ctrl_c_at_the_25th_write(path, img, compress_level=3):  # inside chelsea, the second image
        writes.append(path)
        if len(writes) == 25:
            raise KeyboardInterrupt
        return real_write(path, img, compress_level)

    argv = ('--input', hr_dir, '--output', tmp_path / 'sub', '--crop-size', CROP, '--step', STEP, '--workers', 1)
    monkeypatch.setattr(extract_subimages, 'write_png', ctrl_c_at_the_25th_write)
    code, _, stderr = run_main(extract_subimages, *argv)
    assert code == 130
    assert f'the incomplete output is kept in {tmp_path / "sub.partial"}; rerun the same command to resume' in stderr
    assert 'interrupted: rerun the same command' in stderr
    assert not (tmp_path / 'sub').exists()
    stamp = (tmp_path / 'sub.partial' / 'astronaut_s001.png').stat().st_mtime_ns

    monkeypatch.undo()
    code, stdout, stderr = run_main(extract_subimages, *argv)
    assert code == 0, stderr
    assert f'resuming the interrupted run kept in {tmp_path / "sub.partial"}' in stdout
    assert '1 of 3 inputs were already done; processing the other 2' in stdout
    assert (tmp_path / 'sub' / 'astronaut_s001.png').stat().st_mtime_ns == stamp  # not redone
    assert digest(tmp_path / 'sub') == digest(div2k[0] / 'DIV2K_train_HR_sub')
    assert partials(tmp_path) == []


def test_interrupted_extraction_with_other_settings_restarts(tmp_path, hr_dir):
    leftover = tmp_path / 'sub.partial'
    leftover.mkdir()
    (leftover / 'stale_s001.png').write_bytes(b'half')
    code, _, stderr = run_main(extract_subimages, '--input', hr_dir, '--output', tmp_path / 'sub', '--crop-size',
                               CROP, '--step', STEP)
    assert code == 0
    assert f'removing {leftover} (made with other settings) and starting again' in stderr
    assert len(list((tmp_path / 'sub').iterdir())) == TOTAL_SUBIMAGES


def test_interrupted_div2k_run_resumes_and_never_publishes_a_half_lmdb(tmp_path, monkeypatch):
    hr = write_photos(tmp_path / 'DIV2K_train_HR')
    out = tmp_path / 'DIV2K'
    real_write_lmdb = create_lmdb.write_lmdb

    def killed_while_writing_lr(infos, lmdb_path, *args, **kwargs):
        if 'LR' in Path(lmdb_path).name:
            real_write_lmdb(infos[:5], lmdb_path, *args, **kwargs)  # five entries in, then Ctrl-C
            raise KeyboardInterrupt
        return real_write_lmdb(infos, lmdb_path, *args, **kwargs)

    argv = ('--input', hr, '--output', out, '--crop-size', CROP, '--step', STEP, '--workers', 1)
    monkeypatch.setattr(create_lmdb, 'write_lmdb', killed_while_writing_lr)
    code, _, stderr = run_main(prepare_div2k, *argv)
    assert code == 130
    assert f'intermediate results are kept in {out / "DIV2K_train_sub.partial"}' in stderr
    assert sorted(p.name for p in out.iterdir()) == ['DIV2K_train_sub.partial']  # no LMDB at a final path

    monkeypatch.undo()
    code, stdout, stderr = run_main(prepare_div2k, *argv)
    assert code == 0, stderr
    assert f'resuming the interrupted run kept in {out / "DIV2K_train_sub.partial"}' in stdout
    assert '3 of 3 inputs were already done' in stdout
    assert f'{TOTAL_SUBIMAGES} of {TOTAL_SUBIMAGES} inputs were already done' in stdout
    assert 'DIV2K_train_HR_sub.lmdb was already built and verified by the interrupted run' in stdout
    assert sorted(p.name for p in out.iterdir()) == ['DIV2K_train_HR_sub.lmdb', 'DIV2K_train_LR_bicubic_X4_sub.lmdb']
    assert create_lmdb.verify_lmdb(out / 'DIV2K_train_LR_bicubic_X4_sub.lmdb', TOTAL_SUBIMAGES) == TOTAL_SUBIMAGES
    create_lmdb.verify_pair(out / 'DIV2K_train_HR_sub.lmdb', out / 'DIV2K_train_LR_bicubic_X4_sub.lmdb', 4)


def test_half_written_lmdb_left_by_a_killed_run_is_rebuilt(tmp_path, hr_dir):
    leftover = tmp_path / 'hr.partial.lmdb'
    leftover.mkdir()
    (leftover / 'data.mdb').write_bytes(b'\0' * 4096)
    code, stdout, stderr = run_main(create_lmdb, '--input', hr_dir, '--output', tmp_path / 'hr.lmdb')
    assert code == 0, stderr
    assert f'removing {leftover} (left by an interrupted run) and starting again' in stderr
    assert create_lmdb.verify_lmdb(tmp_path / 'hr.lmdb', 3) == 3
    assert partials(tmp_path) == []


def test_disk_full_while_extracting_is_named_and_resumable(tmp_path, hr_dir):
    argv = ('--input', hr_dir, '--output', tmp_path / 'sub', '--crop-size', CROP, '--step', STEP, '--workers', 1)
    with file_size_limit(2000):  # every 48x48 photo crop is a larger PNG
        code, _, stderr = run_main(extract_subimages, *argv)
    assert code == 2
    assert (f'error: {tmp_path / "sub.partial" / "astronaut_s001.png"}: out of disk space (or over the file-size '
            'limit), ') in stderr and stderr.rstrip().endswith('GB free there: File too large')
    assert not (tmp_path / 'sub').exists()
    code, stdout, stderr = run_main(extract_subimages, *argv)
    assert code == 0, stderr
    assert 'resuming the interrupted run' in stdout
    assert len(list((tmp_path / 'sub').iterdir())) == TOTAL_SUBIMAGES


def test_disk_full_while_writing_an_lmdb_keeps_the_old_one(tmp_path, hr_dir):
    output = tmp_path / 'hr.lmdb'
    assert run_main(create_lmdb, '--input', hr_dir, '--output', output)[0] == 0
    before = digest(output)
    with file_size_limit(20000):  # the three photos take ~90 kB in the LMDB
        code, _, stderr = run_main(create_lmdb, '--input', hr_dir, '--output', output, '--overwrite', '--workers', 1)
    assert code == 2
    assert 'error: writing the LMDB failed' in stderr and 'disk is full' in stderr
    assert f'the incomplete output {tmp_path / "hr.partial.lmdb"} was removed' in stderr
    assert f'the existing output {output} was not changed' in stderr
    assert digest(output) == before and partials(tmp_path) == []


def test_permission_error_is_clear_and_the_old_output_survives():
    base = Path(tempfile.mkdtemp())
    os.chmod(base, 0o755)  # readable by the unprivileged user the test switches to when run as root
    try:
        images = write_photos(base / 'in')
        parent = base / 'out'
        parent.mkdir()
        output = parent / 'sub'
        argv = ('--input', images, '--output', output, '--crop-size', CROP, '--step', STEP, '--workers', 1)
        assert run_main(extract_subimages, *argv)[0] == 0
        before = digest(output)
        with not_writable(parent):
            code, _, stderr = run_main(extract_subimages, *argv, '--overwrite')
        assert code == 2
        assert (f'error: {parent / "sub.partial"}: no permission to write (Permission denied); choose another '
                'place or fix its permissions') in stderr
        assert digest(output) == before and partials(base) == []
    finally:
        shutil.rmtree(base)


def _downscale_in_worker(seed):
    """Pool task for the fork test: BasicSR's imresize, which runs torch (OpenMP) code."""
    img = np.random.default_rng(seed).random((480, 480, 3))
    return imresize(img, 1 / 4).shape


def test_workers_forked_after_torch_ran_in_the_parent_do_not_hang():
    # OpenCV's and torch's (OpenMP) thread pools now exist in this process
    cv2.resize(np.zeros((1356, 2040, 3), np.uint8), (4080, 2712), interpolation=cv2.INTER_CUBIC)
    imresize(np.random.default_rng(0).random((480, 480, 3)), 1 / 4)
    results = []
    runner = threading.Thread(target=lambda: results.extend(
        parallel_map(_downscale_in_worker, range(4), workers=2, desc='fork check')), daemon=True)
    runner.start()
    runner.join(timeout=60)
    assert not runner.is_alive(), 'worker processes hung after fork'
    assert results == [(120, 120, 3)] * 4


def test_div2k_refuses_to_start_without_the_disk_space_it_needs(tmp_path, hr_dir, monkeypatch):
    infos = prepare_div2k.scan_images(prepare_div2k.list_images(hr_dir))
    needed = prepare_div2k.disk_needed(infos, [4], CROP, STEP, 0)
    input_bytes = sum(p.stat().st_size for p in hr_dir.iterdir())
    assert 2 * input_bytes < needed < 20 * input_bytes  # the crops overlap: more than the input, not absurdly so
    monkeypatch.setattr(create_lmdb.shutil, 'disk_usage', lambda path: shutil._ntuple_diskusage(10**9, 10**9, 1000))
    code, _, stderr = run_main(prepare_div2k, '--input', hr_dir, '--output', tmp_path / 'DIV2K', '--crop-size', CROP,
                               '--step', STEP)
    assert code == 2
    assert f'error: not enough disk space for {tmp_path / "DIV2K" / "DIV2K_train_sub.partial"}: it needs about ' \
           in stderr and ', 1.0 kB are free' in stderr
    assert not (tmp_path / 'DIV2K').exists()


def test_benchmarks_hand_realsr_to_prepare_realsr(tmp_path):
    downloads = tmp_path / 'downloads'
    train, test = downloads / 'RealSR(V3)' / 'Canon' / 'Train' / '4', downloads / 'RealSR(V3)' / 'Canon' / 'Test' / '4'
    hr = np.ascontiguousarray(data.astronaut()[:, :, ::-1])  # 512x512: crops at 0 and 32 each way, 4 sub-images
    for folder, img in ((train, hr), (test, hr[:64, :64])):
        folder.mkdir(parents=True)
        cv2.imwrite(str(folder / 'Canon_001_HR.png'), img)
        cv2.imwrite(str(folder / 'Canon_001_LR4.png'), cv2.resize(img, None, fx=0.25, fy=0.25,
                                                                  interpolation=cv2.INTER_AREA))
    code, stdout, stderr = run_main(prepare_benchmarks, '--input', downloads, '--output', tmp_path / 'benchmarks',
                                    '--realsr-output', tmp_path / 'RealSR_V3', '--workers', 1)
    assert code == 0, stderr
    assert 'RealSR_V3: train: 1 pairs -> 4 sub-image pairs (LMDBs verified)' in stdout
    assert 'skipped): Set5, Set14, BSD100, Urban100, Manga109, DIV2K_val, PIRM_val, PIRM_test' in stdout
    assert (tmp_path / 'RealSR_V3' / 'train_LR_x4_sub.lmdb' / 'meta_info.txt').read_text().splitlines() == [
        f'Canon_001_s00{k}.png (120,120,3) 1' for k in range(1, 5)]
    assert (tmp_path / 'RealSR_V3' / 'test' / 'LR_x4' / 'Canon_001.png').is_file()
    assert not (tmp_path / 'benchmarks').exists()
