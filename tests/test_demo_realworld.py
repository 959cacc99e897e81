"""``make demo-realworld``'s program (``python -m fasrgan_basicsr.cli.demo_realworld``): its degraded test input, its
side-by-side figure, its arguments, and the whole program as a smoke run (2 iterations per network)."""
import hashlib
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from fasrgan_basicsr.cli import demo_realworld as demo_cli
from fasrgan_basicsr.demos import realworld as demo
from fasrgan_basicsr.demos.photos import load_photo
from fasrgan_basicsr.utils.cli import run_cli
from fasrgan_basicsr.utils.shipped_options import shipped_option_file
from fasrgan_basicsr.visualization.score_map_panel import COLUMN_GAP, MARGIN

REPO = Path(__file__).resolve().parents[1]
#: the sub-images prepare_realesrgan.py cuts (400×400 every 200 pixels, plus one flush with each far edge) from
#: astronaut 512×512 (2×2), coffee 400×600 (1×2), rocket 427×640 (2×3) and motorcycle 500×741 (2×3)
SUB_IMAGES = 4 + 2 + 6 + 6


def settings():
    return demo.degradation_settings(yaml.safe_load(Path(shipped_option_file(demo.ESRNET_OPT)).read_text()))


def chelsea_hr():
    return cv2.cvtColor(load_photo('chelsea'), cv2.COLOR_RGB2BGR)[:300, :448]


def tree_digest(folder):
    """Names and contents of every file under ``folder`` (outputs must land elsewhere)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob('*') if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def test_degrade_is_a_function_of_its_seed_and_leaves_the_global_generators_alone():
    hr = chelsea_hr()
    random.seed(123)
    np.random.seed(123)
    states = random.getstate(), np.random.get_state()
    first, drawn = demo.degrade(hr, settings(), seed=0)
    assert random.getstate() == states[0] and all(np.array_equal(a, b) for a, b in
                                                  zip(np.random.get_state()[1:], states[1][1:]))
    again, drawn_again = demo.degrade(hr, settings(), seed=0)
    other, _ = demo.degrade(hr, settings(), seed=1)
    assert first.dtype == np.uint8 and first.shape == (75, 112, 3)
    assert np.array_equal(first, again) and drawn == drawn_again
    assert not np.array_equal(first, other)
    # degraded: far from the plain ×4 area downscale of the photograph
    plain = cv2.resize(hr, (112, 75), interpolation=cv2.INTER_AREA)
    assert np.abs(first.astype(int) - plain).mean() > 5
    expected = (r'blur \(21×21 kernel drawn from 6 kinds\), ×4 area downscale, '
                r'(Gaussian noise σ [\d.]+|Poisson noise scale [\d.]+)( \(grey\))?, JPEG quality \d+')
    assert re.fullmatch(expected, drawn), drawn


def test_degrade_keeps_a_flat_grey_image_flat_without_noise_and_at_jpeg_quality_100():
    flat = dict(settings(), gaussian_noise_prob=1.0, noise_range=[0, 0], jpeg_range=[100, 100])
    lq, drawn = demo.degrade(np.full((32, 48, 3), 128, np.uint8), flat, seed=5)
    assert lq.shape == (8, 12, 3) and (lq == 128).all()
    assert drawn.endswith('Gaussian noise σ 0.0, JPEG quality 100')


def test_side_by_side_puts_the_input_enlarged_left_of_the_panel():
    """A 10×12 input of a ×4 SR of 40×48: the panel enlarges its tiles 384 // 48 = 8 times, so the input 32 times."""
    rng = np.random.default_rng(0)
    lq = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
    panel = rng.integers(0, 256, (demo.PANEL_TILE_TOP + 320 + 40, 900, 3), dtype=np.uint8)
    figure = demo.side_by_side(lq, panel)
    left = 12 * 32 + COLUMN_GAP
    assert figure.shape == (panel.shape[0], left + 900, 3)
    assert np.array_equal(figure[:, left:], panel)
    tile = figure[demo.PANEL_TILE_TOP:demo.PANEL_TILE_TOP + 320, MARGIN:MARGIN + 384]
    assert np.array_equal(tile, np.kron(lq, np.ones((32, 32, 1), np.uint8)))
    assert (figure[demo.PANEL_TILE_TOP + 320:, :left] == 255).all()  # white below the tile


@pytest.mark.parametrize('value', ['0', '-3', '1.5', 'many', ''])
def test_a_bad_iteration_count_is_one_line_and_nothing_is_written(tmp_path, capsys, value):
    assert run_cli(demo_cli.main, ['--root', str(tmp_path / 'root'), '--iterations', value]) == 2
    err = capsys.readouterr().err
    assert err == f'error: argument --iterations: expected an integer >= 1, got {value} (see --help)\n'
    assert not any(tmp_path.iterdir())


def test_an_unknown_option_is_one_line_and_nothing_is_written(tmp_path, capsys):
    assert run_cli(demo_cli.main, ['--root', str(tmp_path), '--steps', '2']) == 2
    assert capsys.readouterr().err == 'error: unrecognized arguments: --steps 2 (see --help)\n'
    assert not any(tmp_path.iterdir())


def test_demo_runs_end_to_end_and_writes_only_under_its_root(tmp_path):
    options = REPO / 'options' / 'demo'
    before = tree_digest(options)
    repo_outputs = {p: p.exists() for p in (REPO / 'datasets' / 'demo' / 'realworld', REPO / 'results' / demo.TEST_NAME,
                                            REPO / 'experiments' / 'RealESRNet_demo',
                                            REPO / 'experiments' / 'RealESRGAN_FA_demo')}
    # one thread: on a shared 2-core machine two OpenMP threads wait on each other at every small operation
    proc = subprocess.run([sys.executable, '-m', 'fasrgan_basicsr.cli.demo_realworld', '--root', str(tmp_path),
                           '--iterations', '2'], cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS='1'),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert proc.stderr == '', proc.stderr[-3000:]  # warnings (OpenCV's about the JPEG step's float image) kept quiet
    # the HR-only training data: the meta-info list names exactly the sub-images written
    data = tmp_path / 'datasets' / 'demo' / 'realworld'
    listed = (data / 'meta_info' / 'meta_info_train_HR_sub.txt').read_text().split()
    assert listed == sorted(f'train_HR_sub/{p.name}' for p in (data / 'train_HR_sub').iterdir())
    assert len(listed) == SUB_IMAGES
    # the test pair: chelsea mod-cropped, and its degraded input recomputed pixel for pixel
    hr = cv2.imread(str(data / 'val' / 'HR' / 'chelsea.png'), cv2.IMREAD_COLOR)
    lq = cv2.imread(str(data / 'val' / 'LQ' / 'chelsea.png'), cv2.IMREAD_COLOR)
    assert np.array_equal(hr, chelsea_hr())
    assert np.array_equal(lq, demo.degrade(chelsea_hr(), settings(), seed=demo.DEGRADATION_SEED)[0])
    # both stages trained and saved at iteration 2
    assert (tmp_path / 'experiments' / 'RealESRNet_demo' / 'models' / 'net_g_2.pth').is_file()
    models = tmp_path / 'experiments' / 'RealESRGAN_FA_demo' / 'models'
    assert {'net_g_2.pth', 'net_d_2.pth'} <= {p.name for p in models.iterdir()}
    # the test log holds the PSNR of chelsea; the printed range is that of the real map
    results = tmp_path / 'results' / demo.TEST_NAME
    log = next(results.glob('test_*.log')).read_text()
    psnr, ssim = (re.search(rf'# {name}: ([\d.]+)', log).group(1) for name in ('psnr', 'ssim'))
    assert 15 < float(psnr) < 40 and 0 < float(ssim) < 1
    # the screen: a line per step, the logged values; the commands' own output in the demo's log
    assert re.search(rf'\[5/6\] test .* done in \d+ s: PSNR {float(psnr):.2f} dB, SSIM {float(ssim):.4g}',
                     proc.stdout), proc.stdout
    assert len(proc.stdout.splitlines()) < 30 and 'iter:' in (tmp_path / 'results' / 'demo_realworld.log').read_text()
    found = re.search(r'\[6/6\].*score map min ([\d.]+) +max ([\d.]+) +mean ([\d.]+)', proc.stdout)
    assert found, proc.stdout[-2000:]
    low, high, mean = map(float, found.groups())
    assert 0 <= low <= mean <= high <= 1
    # the figure: the degraded input ×4 (nearest) | visualize_score_map's panel (HR | SR | M | M stretched)
    panel = cv2.imread(str(results / 'score_maps' / 'chelsea_panel.png'), cv2.IMREAD_COLOR)
    sr = cv2.imread(str(results / 'score_maps' / 'chelsea_sr.png'), cv2.IMREAD_COLOR)
    figure = cv2.imread(str(results / 'chelsea_side_by_side.png'), cv2.IMREAD_COLOR)
    left = 448 + COLUMN_GAP
    assert figure.shape == (panel.shape[0], left + panel.shape[1], 3)
    assert panel.shape[1] > 4 * 448  # four tiles of 448 pixels and two colour bars
    assert np.array_equal(figure[:, left:], panel)
    top = demo.PANEL_TILE_TOP
    assert np.array_equal(figure[top:top + 300, MARGIN:MARGIN + 448], lq.repeat(4, axis=0).repeat(4, axis=1))
    assert np.array_equal(panel[top:top + 300, MARGIN:MARGIN + 448], hr)  # the input is level with the HR tile
    assert np.array_equal(panel[top:top + 300, MARGIN + 448 + COLUMN_GAP:MARGIN + 2 * 448 + COLUMN_GAP], sr)
    # nothing of the run went into the repository
    assert tree_digest(options) == before
    assert {p: p.exists() for p in repo_outputs} == repo_outputs
