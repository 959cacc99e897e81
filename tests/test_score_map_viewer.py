"""The score-map viewer's figures, read back pixel by pixel: colour bars against the colormap, map tiles against the
map computed here from the networks (the image's own region of the padded map), titles against the map's numbers,
HR pairing by name, and one-line refusals (exit 2, nothing written) for inputs it cannot use."""
import os
import pickle
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
import yaml
from basicsr.archs import build_network
from basicsr.utils import img2tensor, tensor2img
from conftest import TINY_G

from fasrgan_basicsr.cli import visualize_score_map as viewer
from fasrgan_basicsr.evaluation import score_map_viewer
from fasrgan_basicsr.utils.cli import run_cli
from fasrgan_basicsr.visualization.score_map import score_map_probabilities
from fasrgan_basicsr.visualization.score_map_panel import ABSOLUTE_TICKS, DISPLAY_LONG_SIDE, score_map_figures

D_OPT = {'type': 'UNetDiscriminatorFA', 'num_in_ch': 3, 'num_feat': 4, 'map_channels': 3, 'input_size': 32}
SIZES = {'catx4': (12, 16), 'oddx4': (11, 13)}  # LR sizes; 'odd' gives a 44×52 SR, padded to 48×56 for D


def jet(grey):
    """OpenCV's JET colour (BGR) of grey levels (any shape)."""
    grey = np.asarray(grey, np.uint8)
    return cv2.applyColorMap(grey.reshape(-1, 1), cv2.COLORMAP_JET).reshape(*grey.shape, 3)


def enlarge(img, factor):
    return np.kron(img, np.ones((factor, factor, 1), img.dtype)) if img.ndim == 3 else np.kron(img, np.ones(
        (factor, factor), img.dtype))


def expected_map(net_g, net_d, lr_img, keep='top-left'):
    """Channel mean of M computed here: reflect-pad G(lr) to multiples of 8, D.score_map, sigmoid, crop (H, W)."""
    lr = img2tensor(lr_img.astype(np.float32) / 255., bgr2rgb=True).unsqueeze(0)
    with torch.no_grad():
        sr = net_g(lr).clamp(0, 1)
        h, w = sr.shape[-2:]
        padded = torch.nn.functional.pad(sr, (0, -w % 8, 0, -h % 8), mode='reflect')
        full = torch.sigmoid(net_d.score_map(padded))[0]
    region = full[:, :h, :w] if keep == 'top-left' else full[:, -h:, -w:]
    return region.mean(0).double().numpy(), tensor2img(sr)


@pytest.fixture
def pair(tmp_path):
    """Tiny G and D checkpoints whose SR and score map vary over the image, an option file, LR and HR folders."""
    torch.manual_seed(0)
    net_g, net_d = build_network(dict(TINY_G)).eval(), build_network(dict(D_OPT)).eval()
    with torch.no_grad():  # untrained networks are nearly constant: make the SR vary and the map respond to it
        net_g.conv_last.weight.mul_(20)
        weight = net_d.to_map.weight
        weight.copy_(weight[:1].expand_as(weight) * 300)  # the same map in every channel: their mean varies too
        net_d.to_map.bias.zero_()
        net_d.to_map.bias.sub_(net_d.score_map(net_g(torch.rand(1, 3, 8, 8)).clamp(0, 1)).mean())  # M near 0.5
    models = tmp_path / 'models'
    models.mkdir()
    torch.save({'params': net_g.state_dict()}, models / 'net_g_400.pth')
    torch.save({'params': net_d.state_dict()}, models / 'net_d_400.pth')
    opt = tmp_path / 'opt.yml'
    opt.write_text(yaml.safe_dump({'name': 'tiny_run', 'scale': 4, 'network_g': TINY_G, 'network_d': D_OPT}))
    gen = np.random.default_rng(0)
    lr_dir, hr_dir = tmp_path / 'lr', tmp_path / 'hr'
    lr_dir.mkdir()
    hr_dir.mkdir()
    for name, (h, w) in SIZES.items():
        cv2.imwrite(str(lr_dir / f'{name}.png'), gen.integers(0, 256, (h, w, 3), dtype=np.uint8))
        cv2.imwrite(str(hr_dir / f'{name[:-2]}.png'), gen.integers(0, 256, (4 * h, 4 * w, 3), dtype=np.uint8))
    args = ['-opt', str(opt), '--net_g', str(models / 'net_g_400.pth'), '--net_d', str(models / 'net_d_400.pth'),
            '-i', str(lr_dir), '--device', 'cpu']
    return dict(net_g=net_g, net_d=net_d, opt=opt, models=models, lr=lr_dir, hr=hr_dir, args=args, tmp=tmp_path)


def read(path):
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, f'{path} not written'
    return img


def test_colour_bar_is_the_colormap_top_red_bottom_blue():
    values = np.linspace(0.2, 0.7, 12 * 16).reshape(12, 16)
    figures = score_map_figures(values, 'run r | iter 1 | x', normalize=True)
    for name, kind in (('map', 'score_map'), ('map_norm', 'score_map_norm')):
        fig = figures[kind]
        bar = fig.boxes[f'{name}_bar'].of(fig.image)
        h = bar.shape[0]
        assert h == fig.boxes[name].h == 12 * (DISPLAY_LONG_SIDE // 16)  # the bar runs along the whole map tile
        grey = np.floor(255 * (1 - np.arange(h) / (h - 1)) + 0.5)  # row r shows level 255·(1 − r/(h−1))
        assert np.array_equal(bar, np.repeat(jet(grey)[:, None], bar.shape[1], axis=1))
        assert tuple(bar[0, 0]) == (0, 0, 128) and tuple(bar[-1, 0]) == (128, 0, 0)  # JET: dark red, dark blue
    assert [label for _, label in ABSOLUTE_TICKS] == ['1.00', '0.75', '0.50', '0.25', '0.00']


def test_viewer_writes_sr_absolute_and_normalised_maps_and_hr_sr_map_panels(pair, tmp_path, capsys):
    out = tmp_path / 'maps'
    assert run_cli(viewer.main, pair['args'] + ['-o', str(out), '--hr', str(pair['hr']), '--normalize']) == 0
    printed = capsys.readouterr().out.splitlines()
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f'{n}_{k}.png' for n in SIZES for k in ('sr', 'score_map', 'score_map_norm', 'panel'))
    for index, name in enumerate(sorted(SIZES)):
        lr_img = read(pair['lr'] / f'{name}.png')
        values, sr = expected_map(pair['net_g'], pair['net_d'], lr_img)
        assert values.max() - values.min() > 0.3  # the map varies: the content checks below can fail
        h, w = values.shape
        factor = DISPLAY_LONG_SIDE // max(h, w)
        assert factor >= 6  # small images are enlarged for display (64 → 384, 52 → 364 pixels)

        # the numbers the title is made from are the map's own min, max and mean, and the title prints them
        _, _, figures = score_map_viewer.render_image(pair['net_g'], pair['net_d'], lr_img,
                                                      f'run tiny_run | iter 400 | {name}',
                                                      hr_img=read(pair['hr'] / f'{name[:-2]}.png'), normalize=True)
        rng = figures['panel'].map_range
        assert (rng.low, rng.high, rng.mean) == pytest.approx((values.min(), values.max(), values.mean()), abs=1e-6)
        assert figures['panel'].title_lines == (
            f'run tiny_run | iter 400 | {name}',
            f'score map M (mean over channels): min {values.min():.3f}  max {values.max():.3f}  '
            f'mean {values.mean():.3f}')
        assert printed[index] == f'{out / name}_panel.png  M {rng.describe()}'
        for kind, figure in figures.items():  # the files are exactly these figures
            assert np.array_equal(read(out / f'{name}_{kind}.png'), figure.image), kind

        assert np.array_equal(read(out / f'{name}_sr.png'), sr)
        absolute, stretched, panel = (read(out / f'{name}_{k}.png') for k in ('score_map', 'score_map_norm', 'panel'))
        boxes = figures['score_map'].boxes
        grey = np.floor(values * 255 + 0.5)  # absolute scale: 0 → level 0, 1 → level 255
        assert np.array_equal(boxes['map'].of(absolute), enlarge(jet(grey), factor))
        grey_norm = np.floor((values - values.min()) / (values.max() - values.min()) * 255 + 0.5)
        stretched_tile = figures['score_map_norm'].boxes['map_norm'].of(stretched)
        assert np.array_equal(stretched_tile, enlarge(jet(grey_norm), factor))
        pboxes = figures['panel'].boxes
        assert [k for k in pboxes if not k.endswith('_bar')] == ['hr', 'sr', 'map', 'map_norm']  # HR | SR | M | M
        assert pboxes['hr'].x < pboxes['sr'].x < pboxes['map'].x < pboxes['map_norm'].x
        assert np.array_equal(pboxes['hr'].of(panel), enlarge(read(pair['hr'] / f'{name[:-2]}.png'), factor))
        assert np.array_equal(pboxes['sr'].of(panel), enlarge(sr, factor))
        assert np.array_equal(pboxes['map'].of(panel), enlarge(jet(grey), factor))


def test_the_map_is_the_images_own_region_of_the_padded_map(pair, tmp_path):
    """A 44×52 SR is padded to 48×56 at the bottom and right; the map shown is the top-left 44×52 of D's map."""
    out = tmp_path / 'maps'
    assert run_cli(viewer.main, pair['args'] + ['-o', str(out)]) == 0
    lr_img = read(pair['lr'] / 'oddx4.png')
    own, _ = expected_map(pair['net_g'], pair['net_d'], lr_img)
    shifted, _ = expected_map(pair['net_g'], pair['net_d'], lr_img, keep='bottom-right')
    assert own.shape == (44, 52)
    factor = DISPLAY_LONG_SIDE // 52
    tile = score_map_figures(own, 'x')['score_map'].boxes['map'].of(read(out / 'oddx4_score_map.png'))
    assert np.array_equal(tile, enlarge(jet(np.floor(own * 255 + 0.5)), factor))
    assert not np.array_equal(tile, enlarge(jet(np.floor(shifted * 255 + 0.5)), factor))


def test_score_map_probabilities_crop_the_image_region():
    """With an identity 'discriminator', M of the padded image cropped to the image is exactly sigmoid(image)."""
    class Identity(torch.nn.Module):
        def score_map(self, x):
            return x

    img = torch.arange(2 * 3 * 11 * 13, dtype=torch.float32).reshape(2, 3, 11, 13) / 400 - 1
    prob = score_map_probabilities(Identity(), img)
    assert torch.equal(prob, torch.sigmoid(img))
    tiny = torch.rand(1, 3, 5, 6)  # sides too small to reflect a pad of 3 and 2: replicated
    assert torch.equal(score_map_probabilities(Identity(), tiny), torch.sigmoid(tiny))


def test_score_map_leaves_the_networks_in_their_mode_and_statistics():
    net_d = build_network(dict(D_OPT)).train()
    stats = {k: v.clone() for k, v in net_d.state_dict().items()}
    score_map_probabilities(net_d, torch.rand(1, 3, 20, 28))
    assert net_d.training and all(m.training for m in net_d.modules())
    assert all(torch.equal(stats[k], v) for k, v in net_d.state_dict().items())  # BatchNorm's running stats too


def test_without_normalize_no_stretched_map_and_the_panel_is_sr_and_map(pair, tmp_path):
    out = tmp_path / 'maps'
    assert run_cli(viewer.main, pair['args'] + ['-o', str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(f'{n}_{k}.png' for n in SIZES
                                                           for k in ('sr', 'score_map', 'panel'))
    values, sr = expected_map(pair['net_g'], pair['net_d'], read(pair['lr'] / 'catx4.png'))
    panel = score_map_figures(values, 'run tiny_run | iter 400 | catx4', sr=sr)['panel']
    assert [k for k in panel.boxes] == ['sr', 'map', 'map_bar']
    assert np.array_equal(read(out / 'catx4_panel.png'), panel.image)  # title: run name and iteration from files


def run_viewer(args, capsys):
    """The viewer's ``main`` through the CLI runner, in this process: ``(exit status, stderr lines)``."""
    capsys.readouterr()
    status = run_cli(viewer.main, args)
    return status, capsys.readouterr().err.strip().splitlines()


def assert_refused(result, *needles):
    status, lines = result
    assert status == 2, lines
    assert len(lines) == 1 and lines[0].startswith('error: '), lines
    for needle in needles:
        assert needle in lines[0]


def test_a_discriminator_without_score_map_is_refused_before_anything_runs(pair, tmp_path):
    """Fs-SRGAN's VGGFeatureDiscriminator has no score map: one line, exit 2, before loading or running anything
    (the checkpoints named do not even exist), and nothing written."""
    fs_opt = tmp_path / 'fs.yml'
    fs_opt.write_text(yaml.safe_dump({'name': 'fs', 'network_g': TINY_G, 'network_d': {
        'type': 'VGGFeatureDiscriminator', 'num_in_ch': 8, 'num_feat': 4, 'input_size': 128}}))
    out = tmp_path / 'maps'
    proc = subprocess.run([sys.executable, '-m', 'fasrgan_basicsr.cli.visualize_score_map', '-opt',
                           str(fs_opt), '--net_g', 'missing_g.pth', '--net_d', 'missing_d.pth', '-i', str(pair['lr']),
                           '-o', str(out)], capture_output=True, text=True, cwd=tmp_path)
    assert_refused((proc.returncode, proc.stderr.strip().splitlines()),
                   'fs.yml: network_d VGGFeatureDiscriminator has no score map', 'UNetDiscriminatorFA')
    assert not out.exists()


class RunsCode:
    def __reduce__(self):
        return (os.system, ('touch pwned',))


@pytest.mark.parametrize('which', ['--net_g', '--net_d'])
def test_code_running_or_wrong_checkpoints_are_one_line_exit_2(pair, tmp_path, monkeypatch, capsys, which):
    monkeypatch.chdir(tmp_path)
    evil, wrong = tmp_path / 'evil.pth', tmp_path / 'wrong.pth'
    with open(evil, 'wb') as f:
        pickle.dump({'params': RunsCode()}, f)
    other = pair['models'] / ('net_d_400.pth' if which == '--net_g' else 'net_g_400.pth')
    wrong.write_bytes(other.read_bytes())  # the other network's weights
    for bad, needle in ((evil, 'evil.pth: refused'), (wrong, 'wrong.pth: does not fit')):
        args = list(pair['args'])
        args[args.index(which) + 1] = str(bad)
        out = tmp_path / f'maps_{bad.stem}'
        assert_refused(run_viewer(args + ['-o', str(out)], capsys), needle)
        assert not out.exists()
    assert not (tmp_path / 'pwned').exists()


def test_hr_pairing_and_existing_outputs_are_checked_before_anything_is_written(pair, tmp_path, capsys):
    out = tmp_path / 'maps'
    (pair['hr'] / 'odd.png').unlink()
    proc = run_viewer(pair['args'] + ['-o', str(out), '--hr', str(pair['hr'])], capsys)
    assert_refused(proc, 'no HR image for 1 LR image(s), e.g. oddx4.png', '(looked for oddx4.* or odd.*)')
    cv2.imwrite(str(pair['hr'] / 'odd.png'), np.zeros((44, 48, 3), np.uint8))  # not 4 × 11×13
    proc = run_viewer(pair['args'] + ['-o', str(out), '--hr', str(pair['hr'])], capsys)
    assert_refused(proc, 'odd.png: 48×44 pixels, expected 52×44')
    assert not out.exists()

    (pair['hr'] / 'odd.png').unlink()
    os.remove(pair['lr'] / 'oddx4.png')
    assert run_viewer(pair['args'] + ['-o', str(out)], capsys)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    proc = run_viewer(pair['args'] + ['-o', str(out), '--normalize'], capsys)
    assert_refused(proc, 'output(s) exist already', '--overwrite')
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # untouched, nothing added
    assert run_viewer(pair['args'] + ['-o', str(pair['lr'])], capsys)[0] == 0  # outputs beside the inputs: fine,
    lr_bytes = (pair['lr'] / 'catx4_sr.png').read_bytes()
    proc = run_viewer(pair['args'] + ['-o', str(pair['lr']), '--overwrite'], capsys)  # but never over an input
    assert_refused(proc, 'would overwrite the input', 'catx4_sr.png')
    assert (pair['lr'] / 'catx4_sr.png').read_bytes() == lr_bytes
