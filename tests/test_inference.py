"""Inference: architectures from checkpoint keys, tiled = untiled away from seams, bf16, image kinds, a round trip of a
generator trained by the real train.py against BasicSR's own test pipeline, and the CLI's errors."""
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from basicsr.archs import build_network
from conftest import REPO, TINY_D, TINY_G, run_entry, srmodel_test_options, tiny_options

from fasrgan_basicsr import inference
from fasrgan_basicsr.evaluation.generators import (
    NotAGeneratorError,
    generator_options,
    load_generator,
    recognise_arch,
    upscale,
)
from fasrgan_basicsr.evaluation.results import read_training_curves

# receptive radius of TINY_G in LR pixels: conv_first 1 + one RRDB (3 RDBs × 5 convs) 15 + conv_body 1 = 17, plus
# conv_up1/conv_up2/conv_hr/conv_last at ×2/×4 resolution (0.5 + 3 × 0.25) → 19 after rounding up
TINY_G_RADIUS = 19

GENERATORS = [
    dict(TINY_G, scale=4),
    {'type': 'RRDBNet', 'num_in_ch': 3, 'num_out_ch': 3, 'scale': 2, 'num_feat': 8, 'num_block': 2, 'num_grow_ch': 4},
    {'type': 'FsRRDBNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_shared_block': 2, 'num_block': 1,
     'num_grow_ch': 4},
    {'type': 'MSRResNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_block': 2, 'upscale': 4},
    {'type': 'MSRResNet', 'num_in_ch': 1, 'num_out_ch': 1, 'num_feat': 8, 'num_block': 1, 'upscale': 3},
    {'type': 'FsMSRResNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_shared_block': 1, 'num_block': 3},
]


@pytest.mark.parametrize('opt', GENERATORS, ids=lambda o: f'{o["type"]}')
def test_architecture_and_sizes_are_recognised_from_the_keys(opt, tmp_path):
    torch.manual_seed(0)
    net = build_network(dict(opt))
    torch.save({'params': net.state_dict()}, tmp_path / 'g.pth')
    loaded, found = load_generator(str(tmp_path / 'g.pth'))
    assert found == opt
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in net.state_dict().items())


def test_what_is_not_a_generator_is_refused_with_the_reason(tmp_path):
    torch.save({'params': build_network(dict(TINY_D)).state_dict()}, tmp_path / 'd.pth')
    with pytest.raises(NotAGeneratorError, match=r'd.pth: not a generator of this project .* UNetDiscriminatorFA'):
        load_generator(str(tmp_path / 'd.pth'))
    torch.save({'iter': 4, 'optimizers': [{'state': {}}]}, tmp_path / '4.state')
    with pytest.raises(NotAGeneratorError, match=r'4.state: .*Expected a generator checkpoint'):
        load_generator(str(tmp_path / '4.state'))
    rrdb = build_network(dict(TINY_G)).state_dict()
    with pytest.raises(NotAGeneratorError, match=r'g.pth: its weights do not fit a MSRResNet'):
        generator_options(rrdb, 'MSRResNet', 'g.pth')
    assert recognise_arch({'conv_first.weight': torch.zeros(1)}) is None


def tiled_difference(net, lr, scale, tile, tile_pad):
    whole = upscale(net, lr, scale)
    tiled = upscale(net, lr, scale, tile=tile, tile_pad=tile_pad)
    assert tiled.shape == whole.shape
    return (tiled - whole).abs().amax(dim=(0, 1))  # (H, W)


def seam_distance(h, w, tile, scale):
    """Distance in LR pixels of each HR pixel's LR position to the nearest tile seam."""
    def axis(n):
        pos = (np.arange(n * scale) + 0.5) / scale
        seams = np.arange(tile, n, tile)
        return np.min(np.abs(pos[:, None] - seams[None]), axis=1) if len(seams) else np.full(n * scale, np.inf)
    return np.minimum(axis(h)[:, None], axis(w)[None, :])


def test_tiled_output_equals_untiled_output_away_from_seams():
    torch.manual_seed(0)
    net = build_network(dict(TINY_G)).eval()
    gen = torch.Generator().manual_seed(1)
    lr = torch.rand(1, 3, 61, 75, generator=gen)
    # context covering the receptive field: equal everywhere up to float rounding
    assert tiled_difference(net, lr, 4, tile=40, tile_pad=TINY_G_RADIUS).max() < 1e-4
    # little context: differences exist, and only within (radius − tile_pad) LR pixels of a seam
    diff = tiled_difference(net, lr, 4, tile=40, tile_pad=3).numpy()
    near = seam_distance(61, 75, 40, 4) <= TINY_G_RADIUS - 3
    assert diff.max() > 1e-3 and diff[~near].max() < 1e-4 and (~near).sum() > 1000
    # the Bicubic baseline's kernel reaches 2 LR pixels: tile_pad 2 is exact
    bicubic = build_network({'type': 'Bicubic'})
    assert tiled_difference(bicubic, lr[..., :21, :19], 4, tile=8, tile_pad=2).max() < 1e-5


def test_bf16_autocast_on_cpu_is_close_to_float32():
    torch.manual_seed(0)
    net = build_network(dict(TINY_G)).eval()
    lr = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    full = upscale(net, lr, 4)
    half = upscale(net, lr, 4, amp_dtype=torch.bfloat16)
    assert half.dtype == torch.float32 and 0 < (half - full).abs().max() < 0.05


def write_inputs(folder, lr):
    folder.mkdir()
    cv2.imwrite(str(folder / 'colour.png'), lr)
    cv2.imwrite(str(folder / 'grey.png'), cv2.cvtColor(lr, cv2.COLOR_BGR2GRAY))
    alpha = np.tile(np.linspace(0, 255, lr.shape[1], dtype=np.uint8), (lr.shape[0], 1))[..., None]
    cv2.imwrite(str(folder / 'alpha.png'), np.concatenate([lr, alpha], axis=2))
    cv2.imwrite(str(folder / 'deep.png'), lr.astype(np.uint16) * 257)


def test_generator_trained_by_train_py_round_trips_through_inference_and_test_py(tiny_data, tmp_path):
    opt = tiny_options(tiny_data, name='inference_fasrgan', total_iter=4)
    run_entry('train.py', opt, tmp_path)
    exp = tmp_path / 'experiments' / 'inference_fasrgan'
    checkpoint = exp / 'models' / 'net_g_latest.pth'
    # the validation curve of the real training log (val_freq 2 → iterations 2 and 4)
    curve = read_training_curves(str(exp))['tiny_val']['psnr']
    assert [it for it, _ in curve] == [2, 4] and all(0 < v < 60 for _, v in curve)

    lr = cv2.imread(f"{tiny_data['val_lq']}/chelseax4.png")
    write_inputs(tmp_path / 'in', lr)
    proc = subprocess.run([sys.executable, str(REPO / 'fasrgan_basicsr' / 'inference.py'), '-i', str(tmp_path / 'in'),
                           '-o', str(tmp_path / 'out'), '--model_path', str(checkpoint), '--tile', '7',
                           '--tile_pad', str(TINY_G_RADIUS), '--device', 'cpu'], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert 'RRDBNet ×4 on cpu' in proc.stdout and '4 image(s) in' in proc.stdout
    assert 'colour.png: 16×12 → 64×48 in ' in proc.stdout  # per-image timing

    # BasicSR's own test pipeline on the same checkpoint (the option file's network_g, params_ema)
    test = srmodel_test_options(tiny_data, 'inference_reference', opt['network_g'], str(checkpoint))
    run_entry('test.py', test, tmp_path, opt_name='test.yml')
    reference = cv2.imread(str(tmp_path / 'results' / 'inference_reference' / 'visualization' / 'tiny_val' /
                               'chelseax4_inference_reference.png'))
    colour = cv2.imread(str(tmp_path / 'out' / 'colour_x4.png'), cv2.IMREAD_UNCHANGED)
    assert colour.shape == reference.shape == (48, 64, 3)
    assert np.abs(colour.astype(int) - reference).max() <= 1  # tiles (full context) vs one pass: rounding only

    grey = cv2.imread(str(tmp_path / 'out' / 'grey_x4.png'), cv2.IMREAD_UNCHANGED)
    assert grey.shape == (48, 64) and grey.dtype == np.uint8
    rgba = cv2.imread(str(tmp_path / 'out' / 'alpha_x4.png'), cv2.IMREAD_UNCHANGED)
    assert rgba.shape == (48, 64, 4) and np.abs(rgba[..., :3].astype(int) - reference).max() <= 1
    assert rgba[:, 0, 3].max() <= 20 and rgba[:, -1, 3].min() >= 235  # the alpha ramp survives the upscaling
    deep = cv2.imread(str(tmp_path / 'out' / 'deep_x4.png'), cv2.IMREAD_UNCHANGED)
    assert deep.dtype == np.uint16 and np.abs(deep / 257. - reference).max() <= 1.5


def run_cli(*args):
    return inference.main([str(a) for a in args])


def test_cli_errors_name_the_problem_and_write_nothing(tmp_path, capsys):
    torch.save({'params': build_network(dict(TINY_D)).state_dict()}, tmp_path / 'net_d.pth')
    torch.save({'params': build_network(dict(TINY_G)).state_dict()}, tmp_path / 'net_g.pth')
    good = tmp_path / 'good.png'
    cv2.imwrite(str(good), np.full((8, 8, 3), 100, np.uint8))
    (tmp_path / 'broken.png').write_bytes(b'\x89PNG not really')

    assert run_cli('-i', good, '-o', tmp_path / 'o1', '--model_path', tmp_path / 'net_d.pth') == 2
    assert 'net_d.pth: not a generator of this project' in capsys.readouterr().err
    assert run_cli('-i', good, '-o', tmp_path / 'o1', '--model_path', tmp_path / 'missing.pth') == 2
    assert 'missing.pth: no such checkpoint file' in capsys.readouterr().err
    assert run_cli('-i', tmp_path / 'nothing_here', '-o', tmp_path / 'o1', '--arch', 'Bicubic') == 2
    assert 'nothing_here: no such file or folder' in capsys.readouterr().err
    assert run_cli('-i', good, '-o', tmp_path / 'o1', '--arch', 'Bicubic', '--fp16', '--device', 'cpu') == 2
    assert '--fp16 needs a CUDA device' in capsys.readouterr().err
    assert run_cli('-i', good, '-o', tmp_path / 'o1') == 2
    assert 'give --model_path' in capsys.readouterr().err
    assert not (tmp_path / 'o1').exists()

    # an unreadable image is named; the readable ones are still written; status 1
    folder = tmp_path / 'mixed'
    folder.mkdir()
    for name in ('broken.png', 'good.png'):
        (folder / name).write_bytes((tmp_path / name).read_bytes())
    assert run_cli('-i', folder, '-o', tmp_path / 'o2', '--model_path', tmp_path / 'net_g.pth', '--device', 'cpu') == 1
    out = capsys.readouterr()
    assert 'broken.png: not a readable image' in out.err and '1 failed' in out.out
    assert sorted(p.name for p in (tmp_path / 'o2').iterdir()) == ['good_x4.png']

    # existing outputs are kept unless --overwrite; an output may never replace its input
    before = (tmp_path / 'o2' / 'good_x4.png').read_bytes()
    assert run_cli('-i', folder / 'good.png', '-o', tmp_path / 'o2', '--arch', 'Bicubic') == 2
    assert 'exist already' in capsys.readouterr().err
    assert (tmp_path / 'o2' / 'good_x4.png').read_bytes() == before
    assert run_cli('-i', folder / 'good.png', '-o', tmp_path / 'o2', '--arch', 'Bicubic', '--overwrite') == 0
    assert (tmp_path / 'o2' / 'good_x4.png').read_bytes() != before
    assert run_cli('-i', good, '-o', tmp_path, '--arch', 'Bicubic', '--suffix', '', '--overwrite') == 2
    assert 'would overwrite its input' in capsys.readouterr().err
    assert cv2.imread(str(good)).shape == (8, 8, 3)
