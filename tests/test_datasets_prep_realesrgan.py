"""``prepare_realesrgan.py``: HR photographs -> sub-images + meta_info list (+ LMDB, + multi-scale copies) that
BasicSR's real ``RealESRGANDataset`` loads, with the safety rules of the other datasets_prep scripts."""
import hashlib
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from skimage import data
from test_datasets_prep import ROOT, digest, partials, run_main
from test_datasets_prep_bad_input import assert_refused
from test_datasets_prep_pairing import write_images
from test_datasets_prep_resume import contents, kill_at_call

import fasrgan_basicsr  # noqa: F401  (makes basicsr importable on current torchvision)

# isort: split
from basicsr.data import build_dataset

from fasrgan_basicsr.cli import prepare_realesrgan as cli_prepare_realesrgan  # noqa: E402
from fasrgan_basicsr.datasets_prep import prepare_realesrgan
from fasrgan_basicsr.datasets_prep.common import PrepError

#: The degradation settings of Real-ESRGAN's options/train_realesrgan_x4plus.yml (datasets.train), flips off so that
#: the GT the dataset returns is the sub-image itself.
REALESRGAN_X4PLUS_DATASET = {
    'name': 'DIV2K_realesrgan', 'type': 'RealESRGANDataset', 'phase': 'train',
    'blur_kernel_size': 21,
    'kernel_list': ['iso', 'aniso', 'generalized_iso', 'generalized_aniso', 'plateau_iso', 'plateau_aniso'],
    'kernel_prob': [0.45, 0.25, 0.12, 0.03, 0.12, 0.03],
    'sinc_prob': 0.1, 'blur_sigma': [0.2, 3], 'betag_range': [0.5, 4], 'betap_range': [1, 2],
    'blur_kernel_size2': 21,
    'kernel_list2': ['iso', 'aniso', 'generalized_iso', 'generalized_aniso', 'plateau_iso', 'plateau_aniso'],
    'kernel_prob2': [0.45, 0.25, 0.12, 0.03, 0.12, 0.03],
    'sinc_prob2': 0.1, 'blur_sigma2': [0.2, 1.5], 'betag_range2': [0.5, 4], 'betap_range2': [1, 2],
    'final_sinc_prob': 0.8,
    'gt_size': 256, 'use_hflip': False, 'use_rot': False,
    'use_shuffle': True, 'num_worker_per_gpu': 0, 'batch_size_per_gpu': 1, 'dataset_enlarge_ratio': 1,
    'prefetch_mode': None,
}

#: BGR photographs (width x height): a square one, a landscape one with a short side above 400 and a portrait one
#: large enough for a T0 copy. Sub-images at 400/200 (hand-counted from the crop starts along each side):
#: astronaut 512x512: starts 0, 112 each way -> 4; rocket 640x427: 0, 200, 240 x 0, 27 -> 6;
#: portrait 560x720: 0, 160 x 0, 200, 320 -> 6.
PHOTOS = {
    'astronaut': lambda: data.astronaut()[:, :, ::-1],
    'rocket': lambda: data.rocket()[:, :, ::-1],
    'portrait': lambda: cv2.resize(data.coffee()[:, :, ::-1], (560, 720), interpolation=cv2.INTER_CUBIC),
}
#: The copies made at --crop-size 400 (width, height), hand-computed from Real-ESRGAN's rule:
#: portrait T0 = (int(560 * .75), int(720 * .75)); T3: width < height -> width 400, height int(400 * (720 / 560));
#: rocket T3: height 400, width int(400 * (640 / 427)) = int(599.53); astronaut T3: square -> 400x400. Every other
#: copy (T1, T2 and the T0 of astronaut 384 and rocket 480x320) has a side below 400 and gives no sub-image.
COPIES = {'astronautT3.png': (400, 400), 'portraitT0.png': (420, 540), 'portraitT3.png': (400, 514),
          'rocketT3.png': (599, 400)}
#: Their sub-images: astronautT3 1; portraitT0 420x540: 0, 20 x 0, 140 -> 4; portraitT3 400x514: 1 x 0, 114 -> 2;
#: rocketT3 599x400: 0, 199 x 1 -> 2.
SUBIMAGES = {'astronaut': 4, 'rocket': 6, 'portrait': 6, 'astronautT3': 1, 'portraitT0': 4, 'portraitT3': 2,
             'rocketT3': 2}


def write_photos(folder):
    folder.mkdir(parents=True)
    for name, make in PHOTOS.items():
        cv2.imwrite(str(folder / f'{name}.png'), np.ascontiguousarray(make()))
    return folder


@pytest.fixture(scope='module')
def prepared(tmp_path_factory):
    """One ``--multiscale --lmdb`` run on the photographs: ``(input folder, output folder, its digest before)``."""
    root = tmp_path_factory.mktemp('realesrgan')
    hr = write_photos(root / 'DIV2K_train_HR')
    before = digest(hr)
    code, stdout, stderr = run_main(prepare_realesrgan, '--input', hr, '--output', root / 'out', '--multiscale',
                                    '--lmdb', '--workers', 1)
    assert code == 0, stderr
    assert 'prepare_realesrgan: 3 images, 25 sub-images' in stdout
    return hr, root / 'out', before


def load_every_sample(opt):
    """Every item of BasicSR's RealESRGANDataset built from ``opt``: ``{gt_path: GT as uint8 BGR}``."""
    torch.manual_seed(0)
    dataset = build_dataset(opt)
    samples = {}
    for index in range(len(dataset)):
        item = dataset[index]
        assert item['kernel1'].shape == item['kernel2'].shape == item['sinc_kernel'].shape == (21, 21)
        gt = item['gt'].numpy().transpose(1, 2, 0)[:, :, ::-1]  # RGB CHW in [0, 1] -> BGR HWC
        samples[item['gt_path']] = np.round(gt * 255).astype(np.uint8)
    assert len(samples) == len(dataset)
    return samples


def subimage_files(out):
    return sorted((out / 'DIV2K_train_HR_multiscale_sub').glob('*.png'))


# ------------------------------------------------------------------------------------------- RealESRGANDataset reads it
def test_realesrgan_dataset_loads_every_subimage_from_disk_meta_info(prepared):
    _, out, _ = prepared
    files = subimage_files(out)
    assert {f.stem.rsplit('_s', 1)[0]: 0 for f in files}.keys() == SUBIMAGES.keys()
    for stem, count in SUBIMAGES.items():
        assert len([f for f in files if f.stem.rsplit('_s', 1)[0] == stem]) == count, stem
    meta = out / 'meta_info' / 'meta_info_DIV2K_train_HR_multiscale_sub.txt'
    lines = meta.read_text().splitlines()
    assert lines == sorted(lines) == [f'DIV2K_train_HR_multiscale_sub/{f.name}' for f in files]
    samples = load_every_sample({**REALESRGAN_X4PLUS_DATASET, 'dataroot_gt': str(out), 'meta_info': str(meta),
                                 'io_backend': {'type': 'disk'}})
    assert sorted(samples) == [str(out / line) for line in lines]
    for path, gt in samples.items():
        assert gt.shape == (400, 400, 3)
        assert np.array_equal(gt, cv2.imread(path, cv2.IMREAD_UNCHANGED)), path


def test_realesrgan_dataset_loads_every_subimage_from_the_lmdb(prepared):
    _, out, _ = prepared
    lmdb_path = out / 'DIV2K_train_HR_multiscale_sub.lmdb'
    assert (lmdb_path / 'meta_info.txt').read_text().splitlines() == [f'{f.name} (400,400,3) 1'
                                                                       for f in subimage_files(out)]
    samples = load_every_sample({**REALESRGAN_X4PLUS_DATASET, 'dataroot_gt': str(lmdb_path),
                                 'io_backend': {'type': 'lmdb'}})
    assert sorted(samples) == [f.stem for f in subimage_files(out)]
    for key, gt in samples.items():
        sub_file = out / 'DIV2K_train_HR_multiscale_sub' / f'{key}.png'
        assert np.array_equal(gt, cv2.imread(str(sub_file), cv2.IMREAD_UNCHANGED)), key


def test_subimages_are_the_crops_of_their_source(prepared):
    hr, out, _ = prepared
    rocket = cv2.imread(str(hr / 'rocket.png'))
    starts = [(top, left) for top in (0, 27) for left in (0, 200, 240)]  # row-major, as in the file numbering
    for index, (top, left) in enumerate(starts, 1):
        sub = cv2.imread(str(out / 'DIV2K_train_HR_multiscale_sub' / f'rocket_s{index:03d}.png'))
        assert np.array_equal(sub, rocket[top:top + 400, left:left + 400]), index
    copy = cv2.imread(str(out / 'DIV2K_train_HR_multiscale' / 'rocketT3.png'))
    assert np.array_equal(cv2.imread(str(out / 'DIV2K_train_HR_multiscale_sub' / 'rocketT3_s002.png')),
                          copy[:, 199:599])


# ------------------------------------------------------------------------------------------------- multi-scale copies
def test_multiscale_copies_have_the_documented_sizes_and_are_pil_lanczos(prepared):
    hr, out, _ = prepared
    copies = out / 'DIV2K_train_HR_multiscale'
    assert sorted(p.name for p in copies.iterdir()) == sorted(COPIES)
    for name, size in COPIES.items():
        source = Image.open(hr / f'{name[:-len("T0.png")]}.png').convert('RGB')
        expected = np.asarray(source.resize(size, resample=Image.LANCZOS))[:, :, ::-1]
        got = cv2.imread(str(copies / name), cv2.IMREAD_UNCHANGED)
        assert (got.shape[1], got.shape[0]) == size, name
        assert np.array_equal(got, expected), name


@pytest.mark.parametrize('width, height, crop, expected', [
    # Real-ESRGAN's rule, every copy kept (crop 1): T0-T2 = int(side * factor), T3 shortest side 400
    (2040, 1356, 1, [('T0', (1530, 1017)), ('T1', (1020, 678)), ('T2', (680, 452)), ('T3', (601, 400))]),
    (1356, 2040, 1, [('T0', (1017, 1530)), ('T1', (678, 1020)), ('T2', (452, 680)), ('T3', (400, 601))]),
    (1000, 1000, 1, [('T0', (750, 750)), ('T1', (500, 500)), ('T2', (333, 333)), ('T3', (400, 400))]),
    (401, 900, 1, [('T0', (300, 675)), ('T1', (200, 450)), ('T2', (133, 300)), ('T3', (400, 897))]),
    # no T3 unless it is a downscale: shortest side 400 (it would be a duplicate) or below (an upscale)
    (600, 400, 1, [('T0', (450, 300)), ('T1', (300, 200)), ('T2', (200, 133))]),
    (300, 200, 1, [('T0', (225, 150)), ('T1', (150, 100)), ('T2', (100, 66))]),
    (2, 5, 1, [('T0', (1, 3)), ('T1', (1, 2))]),  # T2 would be 0x1
    # copies with a side below the crop give no sub-image and are not made
    (2040, 1356, 400, [('T0', (1530, 1017)), ('T1', (1020, 678)), ('T2', (680, 452)), ('T3', (601, 400))]),
    (2040, 1152, 400, [('T0', (1530, 864)), ('T1', (1020, 576)), ('T3', (708, 400))]),
    (1000, 600, 450, [('T0', (750, 450))]),  # T3 666x400 is below the crop
])
def test_multiscale_sizes(width, height, crop, expected):
    assert prepare_realesrgan.multiscale_sizes(width, height, crop) == expected


# ---------------------------------------------------------------------------------------- inputs, reruns, resuming
def test_inputs_untouched_and_a_rerun_overwrites_nothing(prepared):
    hr, out, before = prepared
    assert digest(hr) == before
    assert partials(out) == []
    published = digest(out)
    code, _, stderr = run_main(prepare_realesrgan, '--input', hr, '--output', out, '--multiscale', '--lmdb')
    assert code == 2
    assert stderr.startswith(f'error: output {out / "DIV2K_train_HR_multiscale_sub"} already exists; pass '
                             '--overwrite'), stderr
    assert digest(out) == published and digest(hr) == before and partials(out) == []


def small_inputs(folder):
    """80x60 and 64x96 images: at --crop-size 32 their copies are aT0 60x45, bT0 48x72, bT1 32x48."""
    write_images(folder, {'a.png': (60, 80), 'b.png': (96, 64)})
    return folder


SMALL_RUN = ['--multiscale', '--lmdb', '--crop-size', 32, '--step', 16, '--workers', 1]


@pytest.fixture(scope='module')
def small_reference(tmp_path_factory):
    root = tmp_path_factory.mktemp('realesrgan_small')
    hr = small_inputs(root / 'HR')
    code, _, stderr = run_main(prepare_realesrgan, '--input', hr, '--output', root / 'reference', *SMALL_RUN)
    assert code == 0, stderr
    return hr, contents(root / 'reference')


@pytest.mark.parametrize('function, call, patch, where', [
    ('write_png', 2, 'prepare_realesrgan', 'while writing the multi-scale copies'),
    ('write_png', 20, 'extract_subimages', 'while writing the sub-images'),
    ('write_lmdb', 1, 'create_lmdb', 'while writing the LMDB'),
    ('move_into_place', 2, 'staging', 'after the sub-image folder was moved into place'),
])
def test_killed_then_rerun_resumes_to_the_same_outputs(small_reference, tmp_path, function, call, patch, where):
    hr, reference = small_reference
    before = digest(hr)
    out = tmp_path / 'out'
    argv = ['--input', hr, '--output', out, *SMALL_RUN]
    assert kill_at_call('prepare_realesrgan', function, call, argv, patch) == -signal.SIGKILL, where
    assert (out / 'HR_multiscale_sub').is_dir() == (function == 'move_into_place'), where
    code, stdout, stderr = run_main(prepare_realesrgan, *argv)
    assert code == 0, (where, stderr)
    assert f'resuming the interrupted run kept in {out / "realesrgan_HR_multiscale.partial"}' in stdout, where
    assert contents(out) == reference, where
    assert partials(out) == [] and digest(hr) == before


def test_overwrite_replaces_a_meta_info_file_but_never_a_folder(small_reference, tmp_path):
    hr, reference = small_reference
    out = tmp_path / 'out'
    meta = out / 'meta_info' / 'meta_info_HR_multiscale_sub.txt'
    meta.mkdir(parents=True)  # a folder where the meta_info file goes
    code, _, stderr = run_main(prepare_realesrgan, '--input', hr, '--output', out, *SMALL_RUN, '--overwrite')
    assert_refused((code, '', stderr), meta, 'is a folder')
    meta.rmdir()
    meta.write_text('old list\n')
    assert_refused(run_main(prepare_realesrgan, '--input', hr, '--output', out, *SMALL_RUN), meta, '--overwrite')
    assert meta.read_text() == 'old list\n'
    code, _, stderr = run_main(prepare_realesrgan, '--input', hr, '--output', out, *SMALL_RUN, '--overwrite')
    assert code == 0, stderr
    assert contents(out) == reference


def test_without_multiscale_only_the_originals_are_cut(small_reference, tmp_path):
    hr, reference = small_reference
    code, stdout, stderr = run_main(prepare_realesrgan, '--input', hr, '--output', tmp_path, '--crop-size', 32,
                                    '--step', 16)
    assert code == 0, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ['HR_sub', 'meta_info']
    # a 80x60: 0, 16, 32, 48 x 0, 16, 28 -> 12; b 64x96: 0, 16, 32 x 0, 16, ..., 64 -> 15
    lines = (tmp_path / 'meta_info' / 'meta_info_HR_sub.txt').read_text().splitlines()
    assert len(lines) == 27 and 'prepare_realesrgan: 2 images, 27 sub-images' in stdout
    assert 'warning: --crop-size 32 is below 400: RealESRGANDataset pads every sub-image' in stderr
    cut = {line.split('/')[1]: hashlib.sha256((tmp_path / line).read_bytes()).hexdigest() for line in lines}
    originals = {k.split('/')[1]: v for k, v in reference.items()
                 if k.startswith('HR_multiscale_sub/') and 'T' not in k}
    assert cut == originals  # the same files as the originals' sub-images of the --multiscale run


# ---------------------------------------------------------------------------------------------------- bad input
def test_bad_input_is_refused_with_one_line(tmp_path):
    hr = small_inputs(tmp_path / 'HR')
    before = digest(hr)
    run = lambda *argv: run_main(prepare_realesrgan, *[str(a) for a in argv])  # noqa: E731
    assert_refused(run('--input', tmp_path / 'missing', '--output', tmp_path / 'o1'), tmp_path / 'missing',
                   'does not exist')
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'empty' / 'notes.txt').write_text('no images here')
    assert_refused(run('--input', tmp_path / 'empty', '--output', tmp_path / 'o2'), tmp_path / 'empty', 'no images')
    assert_refused(run('--input', hr, '--output', hr / 'out', '--crop-size', 32), '--output', '--input', 'inside')
    assert_refused(run('--input', hr, '--output', tmp_path, '--name', 'HR', '--multiscale', '--crop-size', 32),
                   f'--output {tmp_path / "HR"}', 'is the same folder as --input')
    assert_refused(run('--input', hr, '--output', tmp_path / 'o3', '--name', 'my set'), '--name')
    spaced = small_inputs(tmp_path / 'my photos')
    assert_refused(run('--input', spaced, '--output', tmp_path / 'o3'), "input folder name 'my photos'", '--name')
    assert_refused(run('--input', hr, '--output', tmp_path / 'o3', '--crop-size', 100), '--crop-size 100')
    assert_refused(run('--input', hr, '--output', tmp_path / 'o3', '--step', 0), '--step')
    assert digest(hr) == before
    assert not any((tmp_path / name).exists() for name in ('o1', 'o2', 'o3', 'HR_sub', 'HR_multiscale_sub'))


@pytest.mark.parametrize('names, extra, expected', [
    ({'my photo.png': (40, 40)}, [], 'must not contain spaces'),
    ({'a.b.png': (40, 40)}, ['--lmdb'], 'without dots'),
    ({'a.png': (40, 40), 'aT0.png': (40, 40)}, ['--multiscale'], 'aT0.png (the name of a copy of a.png)'),
    ({'ı.png': (40, 40), 'it1.png': (40, 40)}, ['--multiscale'], 'it1.png (the name of a copy of ı.png)'),
    ({'x.png': (40, 40), 'X.jpg': (40, 40)}, [], 'X.jpg + x.png'),
])
def test_names_the_meta_info_formats_cannot_hold_are_refused(tmp_path, names, extra, expected):
    hr = tmp_path / 'HR'
    write_images(hr, names)
    before = digest(hr)
    assert_refused(run_main(prepare_realesrgan, '--input', hr, '--output', tmp_path / 'out', '--crop-size', 16,
                            *extra), expected)
    assert digest(hr) == before and not (tmp_path / 'out').exists()


# ----------------------------------------------------------------------------------------------- defaults, --help
def test_defaults_are_the_paths_the_option_files_read():
    args = cli_prepare_realesrgan.build_parser().parse_args([])
    assert (args.input, args.output, args.crop_size, args.step, args.thresh_size) == (
        'datasets/DIV2K/DIV2K_train_HR', 'datasets/DIV2K_realesrgan', 400, 200, 0)
    name = prepare_realesrgan.default_name(args.input, multiscale=True)
    assert name == 'DIV2K_train_HR_multiscale'
    assert {k: str(v) for k, v in prepare_realesrgan.output_paths(args.output, name, True, True).items()} == {
        'DIV2K_train_HR_multiscale_sub': 'datasets/DIV2K_realesrgan/DIV2K_train_HR_multiscale_sub',
        'meta_info_DIV2K_train_HR_multiscale_sub.txt':
            'datasets/DIV2K_realesrgan/meta_info/meta_info_DIV2K_train_HR_multiscale_sub.txt',
        'DIV2K_train_HR_multiscale_sub.lmdb': 'datasets/DIV2K_realesrgan/DIV2K_train_HR_multiscale_sub.lmdb',
        'DIV2K_train_HR_multiscale': 'datasets/DIV2K_realesrgan/DIV2K_train_HR_multiscale'}


def layout_problem(dataset):
    """Why a RealESRGANDataset's options do not read a layout prepare_realesrgan.py writes (some --output and
    --name), or None."""
    root, backend = str(dataset.get('dataroot_gt')), dataset.get('io_backend', {}).get('type')
    if backend == 'lmdb':
        name = Path(root).name[:-len('_sub.lmdb')] if root.endswith('_sub.lmdb') else ''
        expected = 'dataroot_gt: <--output>/<--name>_sub.lmdb'
    else:
        meta = Path(str(dataset.get('meta_info')))
        name = meta.name[len('meta_info_'):-len('_sub.txt')] if meta.name.startswith('meta_info_') else ''
        expected = (f'meta_info: {root}/meta_info/meta_info_<--name>_sub.txt for dataroot_gt: {root} (or an '
                    f'LMDB: dataroot_gt: <--output>/<--name>_sub.lmdb)')
        if meta.parent != Path(root) / 'meta_info' or not meta.name.endswith('_sub.txt'):
            name = ''
    try:
        prepare_realesrgan.check_name(name, given=True)
    except PrepError:
        return f'dataroot_gt {root}, meta_info {dataset.get("meta_info")}, {backend}: expected {expected}'
    return None


@pytest.mark.parametrize('dataset, readable', [
    ({'dataroot_gt': 'datasets/DIV2K_realesrgan', 'io_backend': {'type': 'disk'},
      'meta_info': 'datasets/DIV2K_realesrgan/meta_info/meta_info_DIV2K_train_HR_multiscale_sub.txt'}, True),
    ({'dataroot_gt': 'datasets/DF2K', 'io_backend': {'type': 'disk'},
      'meta_info': 'datasets/DF2K/meta_info/meta_info_DF2K_multiscale_sub.txt'}, True),
    ({'dataroot_gt': 'datasets/DIV2K_realesrgan/DIV2K_train_HR_sub.lmdb', 'io_backend': {'type': 'lmdb'}}, True),
    ({'dataroot_gt': 'datasets/DF2K_multiscale_sub', 'io_backend': {'type': 'disk'},
      'meta_info': 'datasets/DF2K_multiscale_sub/meta_info_DF2K_multiscale_sub.txt'}, False),
    ({'dataroot_gt': 'datasets/DF2K', 'io_backend': {'type': 'disk'},
      'meta_info': 'datasets/elsewhere/meta_info/meta_info_DF2K_sub.txt'}, False),
    ({'dataroot_gt': 'datasets/DF2K/DF2K_HR.lmdb', 'io_backend': {'type': 'lmdb'}}, False),
])
def test_layout_check(dataset, readable):
    """The layout rule the option-file check below applies, on the default paths and a Real-ESRGAN-style DF2K."""
    assert (layout_problem(dataset) is None) == readable
    if readable and dataset['io_backend']['type'] == 'disk':
        name = Path(dataset['meta_info']).name[len('meta_info_'):-len('_sub.txt')]
        finals = prepare_realesrgan.output_paths(dataset['dataroot_gt'], name, False, False)
        assert str(finals[prepare_realesrgan.meta_info_name(name)]) == dataset['meta_info']


def test_option_files_read_what_this_script_writes():
    """Every RealESRGANDataset under options/ that reads datasets/... reads a layout prepare_realesrgan.py writes."""
    datasets = []
    for option_file in sorted((ROOT / 'options').rglob('*.yml')):
        for dataset in ((yaml.safe_load(option_file.read_text()) or {}).get('datasets') or {}).values():
            if (dataset.get('type') in ('RealESRGANDataset', 'RealESRGANDataset_basicsr')
                    and str(dataset.get('dataroot_gt')).startswith('datasets/')):
                datasets.append((option_file.relative_to(ROOT), dataset))
    if not datasets:
        pytest.skip('no option file reads RealESRGANDataset data under datasets/ yet')
    problems = [f'{option_file}: {layout_problem(dataset)}' for option_file, dataset in datasets
                if layout_problem(dataset)]
    assert not problems, 'option files read what prepare_realesrgan.py does not write:\n' + '\n'.join(problems)


def test_help_lists_the_flags():
    proc = subprocess.run([sys.executable, 'datasets_prep/prepare_realesrgan.py', '--help'], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for flag in ('--input', '--output', '--workers', '--overwrite', '--multiscale', '--lmdb', '--crop-size', '--name'):
        assert flag in proc.stdout
