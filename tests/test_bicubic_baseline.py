"""The weight-free Bicubic baseline: the arch itself, and Set5 through the real test.py with the shipped option file."""
import importlib.util
import math
import re

import cv2
import numpy as np
import pytest
import torch
import yaml
from basicsr.archs import build_network
from basicsr.metrics import calculate_niqe, calculate_psnr, calculate_ssim
from basicsr.utils.matlab_functions import imresize
from conftest import REPO, SHARED, run_entry
from test_metrics import stand_in_alexnet  # noqa: F401  (fixture)

from fasrgan_basicsr.metrics.rmse_metric import calculate_rmse

SET5 = SHARED / 'benchmarks' / 'Set5'
BICUBIC_OPTIONS = REPO / 'options' / 'test' / 'baseline' / 'test_Bicubic_x4.yml'


def test_bicubic_arch_is_matlab_imresize_without_parameters():
    net = build_network({'type': 'Bicubic', 'scale': 4})
    assert sum(p.numel() for p in net.parameters()) == 0 and net.state_dict() == {}
    gen = torch.Generator().manual_seed(0)
    lr = torch.rand(2, 3, 7, 9, generator=gen, dtype=torch.float64)
    sr = net(lr)
    assert sr.shape == (2, 3, 28, 36) and sr.dtype == torch.float64
    for img, out in zip(lr, sr):
        assert torch.equal(out, imresize(img.float(), 4).double())
    assert not torch.equal(sr[0], sr[1])
    with pytest.raises(ValueError, match='num_in_ch'):
        build_network({'type': 'Bicubic', 'num_in_ch': 1, 'num_out_ch': 3})


def expected_set5():
    """BasicSR's own computation: imresize ×4 of each shipped LR, quantised as tensor2img does."""
    values = {'psnr': [], 'ssim': [], 'rmse': [], 'niqe': []}
    for hr_path in sorted((SET5 / 'HR').glob('*.png')):
        lr = cv2.imread(str(SET5 / 'LR_bicubic' / 'X4' / f'{hr_path.stem}x4.png')).astype(np.float32) / 255.
        sr = np.round(np.clip(imresize(lr, 4), 0, 1) * 255.).astype(np.uint8)
        hr = cv2.imread(str(hr_path))[:sr.shape[0], :sr.shape[1]]
        values['psnr'].append(calculate_psnr(sr, hr, 4, test_y_channel=True))
        values['ssim'].append(calculate_ssim(sr, hr, 4, test_y_channel=True))
        values['rmse'].append(calculate_rmse(sr, hr, 4, test_y_channel=True))
        values['niqe'].append(calculate_niqe(sr, 4))
    return {k: float(np.mean(v)) for k, v in values.items()}


def test_bicubic_baseline_reproduces_the_published_set5_psnr_through_test_py(tmp_path, stand_in_alexnet):  # noqa: F811
    if not (SET5 / 'HR').is_dir():
        pytest.skip(f'{SET5} (shared reference data) is absent')
    opt = yaml.safe_load(BICUBIC_OPTIONS.read_text())
    assert opt['path']['pretrain_network_g'] is None and opt['network_g']['type'] == 'Bicubic'
    test_1 = dict(opt['datasets']['test_1'], dataroot_gt=str(SET5 / 'HR'), dataroot_lq=str(SET5 / 'LR_bicubic' / 'X4'))
    opt['datasets'] = {'test_1': test_1}
    opt['val']['metrics']['pi'] = {'type': 'calculate_pi', 'crop_border': 4, 'better': 'lower'}
    run_entry('test.py', opt, tmp_path, opt_name='bicubic.yml')

    log = sorted((tmp_path / 'results' / 'Bicubic_x4').glob('test_Bicubic_x4_*.log'))[-1].read_text()
    got = {m: float(v) for m, v in re.findall(r'# (\w+): (\S+)', log.split('Validation Set5')[1])}
    expected = expected_set5()
    assert abs(got['psnr'] - 28.42) <= 0.02, got  # EDSR/RCAN papers: 28.42 dB
    assert abs(got['ssim'] - expected['ssim']) <= 0.002 and abs(expected['ssim'] - 0.8113) < 1e-4
    for metric in ('psnr', 'ssim', 'rmse', 'niqe'):
        assert got[metric] == pytest.approx(expected[metric], abs=1e-4), metric
    assert 0 < got['lpips'] < 1
    if importlib.util.find_spec('pyiqa') is None:  # CI: PI cannot be computed; the others were
        assert math.isnan(got['pi']) and 'pip install -e .[pi]' in log
    sr_images = sorted(p.name for p in (tmp_path / 'results' / 'Bicubic_x4' / 'visualization' / 'Set5').iterdir())
    assert sr_images == [f'{p.stem}x4_Bicubic_x4.png' for p in sorted((SET5 / 'HR').glob('*.png'))]


def test_every_test_file_measures_the_papers_metrics():
    for path in sorted((REPO / 'options' / 'test').rglob('*.yml')):
        metrics = yaml.safe_load(path.read_text())['val']['metrics']
        if path.parent.name == 'realworld':  # photographs without HR: the no-reference metrics only
            assert {m['type'] for m in metrics.values()} == {'calculate_niqe', 'calculate_pi'}, path
            continue
        distortion = 'calculate_mse' if path.parent.name == 'authors_protocol' else 'calculate_rmse'
        assert {m['type'] for m in metrics.values()} >= {'calculate_psnr', 'calculate_ssim', 'calculate_lpips',
                                                          'calculate_niqe', distortion}, path
        assert metrics['psnr'] == {'type': 'calculate_psnr', 'crop_border': 4, 'test_y_channel': True}
        assert metrics['lpips']['net'] == 'alex' and metrics['lpips']['version'] == '0.0'
        assert all(m.get('better', 'lower') == 'lower' for k, m in metrics.items() if k not in ('psnr', 'ssim'))
