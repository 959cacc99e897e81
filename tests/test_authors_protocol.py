"""The authors' protocol: the release's scripts' RMSE (sqrt of the dataset's mean MSE on the uint8 Y plane, no shave)
and shave-free NIQE, on hand-computed images, through the readers of the logs, and on the shipped Set5 through the
real test.py with options/test/authors_protocol/test_Bicubic_x4.yml."""
import math
import re

import cv2
import numpy as np
import pytest
import yaml
from basicsr.metrics import calculate_metric, calculate_niqe, calculate_psnr, calculate_ssim
from basicsr.utils.matlab_functions import imresize
from basicsr.utils.options import dict2str
from conftest import REPO, SHARED, run_entry
from test_metrics import stand_in_alexnet  # noqa: F401  (fixture)

from fasrgan_basicsr.cli import collect_results
from fasrgan_basicsr.evaluation import results as res
from fasrgan_basicsr.utils.cli import run_cli

SET5 = SHARED / 'benchmarks' / 'Set5'
PROTOCOL = REPO / 'options' / 'test' / 'authors_protocol'


def bgr(*pixels):
    """A 1×N BGR uint8 image of the given (B, G, R) pixels."""
    return np.array([pixels], dtype=np.uint8)


# ------------------------------------------------------------------------------------------ per image
def test_mse_on_hand_computed_images():
    zeros, threes = np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), 3, np.uint8)
    assert calculate_metric({'img': zeros, 'img2': threes}, {'type': 'calculate_mse'}) == 9.0
    a = np.zeros((4, 4, 3), np.uint8)
    a[0, 0] = 12  # one pixel of 16 differs by 12 in each channel: 144 / 16
    assert calculate_metric({'img': a, 'img2': zeros}, {'type': 'calculate_mse'}) == 9.0
    assert calculate_metric({'img': a, 'img2': zeros}, {'type': 'calculate_mse', 'crop_border': 1}) == 0.0
    assert calculate_metric({'img': a, 'img2': zeros}, {'type': 'calculate_rmse'}) == 3.0


def test_y_uint8_is_matlabs_rounded_y():
    """Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255, rounded half away from zero (MATLAB's uint8 rgb2ycbcr)."""
    black = bgr((0, 0, 0))  # Y 16
    red1, red2 = bgr((0, 0, 1)), bgr((0, 0, 2))  # Y 16.2568 → 16, 16.5136 → 17
    opts = {'type': 'calculate_mse', 'test_y_channel': True, 'y_uint8': True}
    assert calculate_metric({'img': red1, 'img2': black}, opts) == 0.0
    assert calculate_metric({'img': red2, 'img2': black}, opts) == 1.0
    float_y = calculate_metric({'img': red1, 'img2': black}, dict(opts, y_uint8=False))
    assert float_y == pytest.approx((65.481 / 255) ** 2, rel=1e-5)  # BasicSR's unrounded Y
    white = bgr((255, 255, 255))  # Y 235 exactly
    assert calculate_metric({'img': white, 'img2': black}, opts) == 219.0 ** 2
    assert calculate_metric({'img': white, 'img2': black}, dict(opts, type='calculate_rmse')) == 219.0


def test_y_uint8_needs_the_y_channel():
    with pytest.raises(ValueError, match='y_uint8: true needs test_y_channel: true'):
        calculate_metric({'img': bgr((0, 0, 0)), 'img2': bgr((0, 0, 0))}, {'type': 'calculate_mse', 'y_uint8': True})


# ------------------------------------------------------------------------------------------ dataset value
def a_log(metrics, blocks, tmp_path, name='test_x_20260101_000000.log'):
    """A log as BasicSR's test.py writes it: the options dump (``dict2str``), then one validation block per dataset."""
    lines = ['2026-01-01 00:00:00,000 INFO: ' + dict2str({'name': 'x', 'val': {'metrics': metrics}})]
    for dataset, values in blocks.items():
        lines.append(f'2026-01-01 00:00:01,000 INFO: Validation {dataset}')
        lines += [f'\t # {k}: {v:.4f}\tBest: {v:.4f} @ x iter' for k, v in values.items()]
    path = tmp_path / name
    path.write_text('\n'.join(lines) + '\n')
    return path


def test_the_root_of_the_logged_mean_mse_is_the_dataset_rmse(tmp_path):
    metrics = {'psnr': {'type': 'calculate_psnr', 'crop_border': 4},
               'mse': {'type': 'calculate_mse', 'crop_border': 0, 'test_y_channel': True, 'y_uint8': True},
               'mse_rgb': {'type': 'calculate_mse'}, 'rmse': {'type': 'calculate_rmse'}}
    log = a_log(metrics, {'Set5': {'psnr': 28.4305, 'mse': 139.1026, 'mse_rgb': 4.0, 'rmse': 10.6580}}, tmp_path)
    got = res.read_test_log(log)['Set5']
    assert got['rmse_dataset'] == pytest.approx(math.sqrt(139.1026), abs=1e-12)
    assert got['rmse_dataset_mse_rgb'] == 2.0
    assert got['mse'] == 139.1026 and got['rmse'] == 10.6580  # logged values kept as they are


def test_a_metric_only_named_mse_is_not_rooted(tmp_path):
    """What the log's options say it is decides, not its name: an ``mse`` of another type is left alone."""
    log = a_log({'mse': {'type': 'calculate_rmse'}}, {'Set5': {'mse': 9.0}}, tmp_path)
    assert res.read_test_log(log)['Set5'] == {'mse': 9.0}


def test_dataset_rmse_of_per_image_mses_differs_from_the_mean_rmse():
    """Two images with MSE 1 and 9: the release reports sqrt(5) = 2.236, the per-image mean is (1 + 3) / 2 = 2."""
    mses = [1.0, 9.0]
    means = {'mse': sum(mses) / 2}
    assert res.dataset_root_values(means, {'mse': 'calculate_mse'})['rmse_dataset'] == math.sqrt(5)
    assert sum(math.sqrt(m) for m in mses) / 2 == 2.0


# ------------------------------------------------------------------------------------------ Set5, both protocols
def release_scores(sr, hr, shave=0):
    """The release's PI/utils/calc_scores.m MSE by hand: uint8 Y of rgb2ycbcr, shaved, immse."""
    def y(img):
        b, g, r = (img[..., i].astype(np.float64) for i in range(3))
        return np.floor(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255 + 0.5)
    a, b = y(sr), y(hr)
    if shave:
        a, b = a[shave:-shave, shave:-shave], b[shave:-shave, shave:-shave]
    return float(np.mean((a - b) ** 2))


def bicubic_set5():
    """``[(SR, HR)]`` of Set5: BasicSR's imresize ×4 of each shipped LR, quantised as tensor2img does."""
    pairs = []
    for hr_path in sorted((SET5 / 'HR').glob('*.png')):
        lr = cv2.imread(str(SET5 / 'LR_bicubic' / 'X4' / f'{hr_path.stem}x4.png')).astype(np.float32) / 255.
        sr = np.round(np.clip(imresize(lr, 4), 0, 1) * 255.).astype(np.uint8)
        pairs.append((sr, cv2.imread(str(hr_path))[:sr.shape[0], :sr.shape[1]]))
    return pairs


@pytest.mark.subprocess
def test_set5_bicubic_with_the_authors_protocol_through_test_py_and_collect(tmp_path, stand_in_alexnet,  # noqa: F811
                                                                            capsys):
    if not (SET5 / 'HR').is_dir():
        pytest.skip(f'{SET5} (shared reference data) is absent')
    opt = yaml.safe_load((PROTOCOL / 'test_Bicubic_x4.yml').read_text())
    opt['datasets'] = {'test_1': dict(opt['datasets']['test_1'], dataroot_gt=str(SET5 / 'HR'),
                                      dataroot_lq=str(SET5 / 'LR_bicubic' / 'X4'))}
    run_entry('test.py', opt, tmp_path, opt_name='bicubic_authors.yml')
    log = sorted((tmp_path / 'results' / opt['name']).glob('test_*.log'))[-1]
    got = {m: float(v) for m, v in re.findall(r'# (\w+): (\S+)', log.read_text().split('Validation Set5')[1])}

    pairs = bicubic_set5()
    mses = [release_scores(sr, hr) for sr, hr in pairs]
    release_rmse = math.sqrt(np.mean(mses))  # evaluate_results.m: sqrt(mean([scores.MSE]))
    assert got['mse'] == pytest.approx(np.mean(mses), abs=1e-4)
    assert got['niqe'] == pytest.approx(np.mean([calculate_niqe(sr, 0) for sr, _ in pairs]), abs=1e-4)
    assert got['psnr'] == pytest.approx(np.mean([calculate_psnr(sr, hr, 4, test_y_channel=True) for sr, hr in pairs]),
                                        abs=1e-4)
    assert got['ssim'] == pytest.approx(np.mean([calculate_ssim(sr, hr, 4, test_y_channel=True) for sr, hr in pairs]),
                                        abs=1e-4)
    # the numbers of docs/authors_models.md
    assert (round(got['psnr'], 2), round(got['ssim'], 4), round(got['niqe'], 2)) == (28.43, 0.8113, 8.42)
    assert round(release_rmse, 3) == 11.794
    # and what the default protocol gives on the same images (options/test/baseline/test_Bicubic_x4.yml)
    default_rmse = np.mean([math.sqrt(calculate_metric({'img': sr, 'img2': hr}, {
        'type': 'calculate_mse', 'crop_border': 4, 'test_y_channel': True})) for sr, hr in pairs])
    assert round(default_rmse, 3) == 10.658
    assert round(float(np.mean([calculate_niqe(sr, 4) for sr, _ in pairs])), 2) == 8.54

    assert run_cli(collect_results.main, ['--results', str(tmp_path / 'results'), '-o', str(tmp_path / 't')]) == 0
    table = (tmp_path / 't' / 'table.md').read_text()
    row = next(line for line in table.splitlines() if 'RMSE (√ mean MSE)' in line)
    assert row.split('|')[3].strip().strip('*') == f'{release_rmse:.2f}' == '11.79'
    plots = tmp_path / 't'
    assert (plots / 'tradeoff_authors_Set5.png').exists() and not (plots / 'tradeoff_Set5.png').exists()
    capsys.readouterr()


def test_the_authors_protocol_files_share_one_metric_block_and_the_papers_sets():
    files = sorted(PROTOCOL.glob('test_*.yml'))
    assert len(files) == 12
    blocks = [yaml.safe_load(p.read_text())['val']['metrics'] for p in files]
    assert all(b == blocks[0] for b in blocks)
    m = blocks[0]
    assert m['psnr'] == {'type': 'calculate_psnr', 'crop_border': 4, 'test_y_channel': True}
    assert m['ssim'] == {'type': 'calculate_ssim', 'crop_border': 4, 'test_y_channel': True}
    assert m['pi']['crop_border'] == m['niqe']['crop_border'] == m['mse']['crop_border'] == 0  # shave_width = 0
    assert m['mse'] == {'type': 'calculate_mse', 'crop_border': 0, 'test_y_channel': True, 'y_uint8': True,
                        'better': 'lower'}
    assert m['lpips'] == {'type': 'calculate_lpips', 'net': 'alex', 'version': '0.0', 'crop_border': 0,
                          'better': 'lower'}
    for path in files:
        text = path.read_text()
        header = text.split('\nname:')[0]
        assert yaml.safe_load(text)['name'].endswith('_authors_protocol')
        assert all(source in header for source in ('calculate_PSNR_SSIM.m', 'evaluate_results.m',
                                                    'test_lipis_folder.py', 'shave_width = 0'))
