"""Inference: architectures from checkpoint keys, tiled = untiled away from seams, bf16, image kinds, a round trip of a
generator trained by the real train.py against BasicSR's own test pipeline, and the CLI's errors (checkpoints that are
missing, code-running, a discriminator or a training state; an -o that is a file; out of memory on one image).
The Real-ESRGAN-style flags are in test_inference_cli.py."""
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from basicsr.archs import build_network
from conftest import TINY_D, TINY_G, run_entry, srmodel_test_options, tiny_options

from fasrgan_basicsr.cli import inference
from fasrgan_basicsr.evaluation.results import read_training_curves
from fasrgan_basicsr.generators.loading import (
    NotAGeneratorError,
    generator_options,
    load_generator,
    recognise_arch,
)
from fasrgan_basicsr.generators.tiling import upscale
from fasrgan_basicsr.utils.cli import run_cli

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
# a feature-sharing generator writes the plain arch of E + G blocks that it computes exactly (archs/fs_split.py)
WRITTEN_AS = {
    'FsRRDBNet': {'type': 'RRDBNet', 'num_in_ch': 3, 'num_out_ch': 3, 'scale': 4, 'num_feat': 8, 'num_block': 3,
                  'num_grow_ch': 4},
    'FsMSRResNet': {'type': 'MSRResNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_block': 4, 'upscale': 4},
}


@pytest.mark.parametrize('opt', GENERATORS, ids=lambda o: f'{o["type"]}')
def test_architecture_and_sizes_are_recognised_from_the_keys(opt, tmp_path):
    torch.manual_seed(0)
    net = build_network(dict(opt))
    torch.save({'params': net.state_dict()}, tmp_path / 'g.pth')
    loaded, found = load_generator(str(tmp_path / 'g.pth'))
    assert found == WRITTEN_AS.get(opt['type'], opt)
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
    proc = subprocess.run([sys.executable, '-m', 'fasrgan_basicsr.cli.inference', '-i', str(tmp_path / 'in'),
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


def cli(*args):
    """The CLI as ``python inference.py`` runs it (``run_cli(main)``), in this process (so that tests can patch)."""
    return run_cli(inference.main, [str(a) for a in args])


class RunsCode:
    """Pickled, it makes ``torch.load`` without ``weights_only`` create ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def one_error_line(capsys):
    err = capsys.readouterr().err
    assert err.startswith('error: ') and err.count('\n') == 1, err
    return err


def test_cli_errors_name_the_problem_and_write_nothing(tmp_path, capsys):
    torch.save({'params': build_network(dict(TINY_D)).state_dict()}, tmp_path / 'net_d.pth')
    torch.save({'params': build_network(dict(TINY_G)).state_dict()}, tmp_path / 'net_g.pth')
    torch.save({'iter': 4, 'optimizers': [{'state': {}}]}, tmp_path / '4.state')
    torch.save({'params': RunsCode(tmp_path / 'ran.txt')}, tmp_path / 'evil.pth')
    good = tmp_path / 'good.png'
    cv2.imwrite(str(good), np.full((8, 8, 3), 100, np.uint8))
    (tmp_path / 'broken.png').write_bytes(b'\x89PNG not really')

    # checkpoint problems: one line naming the file, exit 2, nothing run or written
    for checkpoint, expected in [('net_d.pth', 'net_d.pth: not a generator of this project .* UNetDiscriminatorFA'),
                                 ('missing.pth', 'missing.pth: no such checkpoint file'),
                                 ('4.state', '4.state: .*Expected a generator checkpoint'),
                                 ('evil.pth', 'evil.pth: refused .* could run arbitrary code')]:
        assert cli('-i', good, '-o', tmp_path / 'o1', '--model_path', tmp_path / checkpoint) == 2
        assert re.search(expected, one_error_line(capsys))
    assert not (tmp_path / 'ran.txt').exists()
    for args, expected in [(('-i', tmp_path / 'nothing_here', '--arch', 'Bicubic'), 'nothing_here: no such file'),
                           (('-i', good, '--arch', 'Bicubic', '--fp16', '--device', 'cpu'), '--fp16 needs a CUDA'),
                           (('-i', good,), 'give --model_path'),
                           (('-i', good, '--arch', 'Bicubic', '--tile', '-1'), '--tile must be >= 0'),
                           (('-i', good, '--arch', 'Bicubic', '-g', '0', '--device', 'cpu'), '-g 0 and --device cpu'),
                           (('-i', good, '--arch', 'Bicubic', '--device', 'tpu:x'), '--device tpu:x: not a torch')]:
        assert cli(*args, '-o', tmp_path / 'o1') == 2
        assert expected in one_error_line(capsys)
    if not torch.cuda.is_available():
        assert cli('-i', good, '-o', tmp_path / 'o1', '--arch', 'Bicubic', '-g', '0') == 2
        assert '-g 0: no CUDA device on this machine' in one_error_line(capsys)
    assert not (tmp_path / 'o1').exists() and not (tmp_path / 'ran.txt').exists()

    # an unreadable image is named; the readable ones are still written; status 1
    folder = tmp_path / 'mixed'
    folder.mkdir()
    for name in ('broken.png', 'good.png'):
        (folder / name).write_bytes((tmp_path / name).read_bytes())
    assert cli('-i', folder, '-o', tmp_path / 'o2', '--model_path', tmp_path / 'net_g.pth', '--device', 'cpu') == 1
    out = capsys.readouterr()
    assert 'broken.png: not a readable image' in out.err and '1 failed' in out.out
    assert sorted(p.name for p in (tmp_path / 'o2').iterdir()) == ['good_x4.png']

    # existing outputs are kept unless --overwrite; an output may never replace its input, nor another output
    before = (tmp_path / 'o2' / 'good_x4.png').read_bytes()
    assert cli('-i', folder / 'good.png', '-o', tmp_path / 'o2', '--arch', 'Bicubic') == 2
    assert 'exist already' in one_error_line(capsys)
    assert (tmp_path / 'o2' / 'good_x4.png').read_bytes() == before
    assert cli('-i', folder / 'good.png', '-o', tmp_path / 'o2', '--arch', 'Bicubic', '--overwrite') == 0
    assert (tmp_path / 'o2' / 'good_x4.png').read_bytes() != before
    assert cli('-i', good, '-o', tmp_path, '--arch', 'Bicubic', '--suffix', '', '--overwrite') == 2
    assert 'would overwrite the input' in one_error_line(capsys)
    assert cv2.imread(str(good)).shape == (8, 8, 3)
    cv2.imwrite(str(folder / 'good.jpg'), np.full((8, 8, 3), 50, np.uint8))
    assert cli('-i', folder, '-o', tmp_path / 'o3', '--arch', 'Bicubic', '--ext', 'png') == 2
    assert 'good.jpg and ' in one_error_line(capsys) and not (tmp_path / 'o3').exists()


def test_output_that_is_an_existing_file_is_refused(tmp_path, capsys):
    cv2.imwrite(str(tmp_path / 'in.png'), np.full((8, 8, 3), 100, np.uint8))
    target = tmp_path / 'results.png'
    target.write_bytes(b'the user\'s file')
    before = sorted(tmp_path.iterdir())
    assert cli('-i', tmp_path / 'in.png', '-o', target, '--arch', 'Bicubic') == 2
    assert f'-o {target}: is an existing file; expected a folder' in one_error_line(capsys)
    assert target.read_bytes() == b'the user\'s file' and sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize('error', [
    torch.OutOfMemoryError('CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0; 79.11 GiB total capacity)'),
    RuntimeError('[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory: you tried to '
                 'allocate 21474836480 bytes.'),
    MemoryError(),
], ids=['cuda', 'cpu-allocator', 'MemoryError'])
def test_out_of_memory_names_the_image_suggests_tiles_and_the_batch_goes_on(error, tmp_path, capsys, monkeypatch):
    from basicsr.archs.rrdbnet_arch import RRDBNet
    forward = RRDBNet.forward

    def forward_with_little_memory(self, x):  # inputs over 400 LR pixels "do not fit"
        if x.shape[-2] * x.shape[-1] > 400:
            raise error
        return forward(self, x)

    monkeypatch.setattr(RRDBNet, 'forward', forward_with_little_memory)
    torch.save({'params': build_network(dict(TINY_G)).state_dict()}, tmp_path / 'net_g.pth')
    folder = tmp_path / 'in'
    folder.mkdir()
    for name, size in (('a_small.png', 12), ('b_large.png', 40), ('c_small.png', 16)):
        cv2.imwrite(str(folder / name), np.full((size, size, 3), 100, np.uint8))
    assert cli('-i', folder, '-o', tmp_path / 'out', '--model_path', tmp_path / 'net_g.pth') == 1
    out = capsys.readouterr()
    message = re.search(r'error: (.*)\n', out.err).group(1)
    assert message == (f'{folder / "b_large.png"}: out of memory on cpu for this 40×40 image; try --tile 16 (or '
                       'smaller) to process it in tiles.')
    assert f'1 failed:\n  {message}' in out.out
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == ['a_small_x4.png', 'c_small_x4.png']
    if not isinstance(error, torch.OutOfMemoryError):
        return  # the same path from here on
    # the suggestion works: 16 + 2 × 2 context = 20 × 20 = 400 LR pixels per tile
    assert cli('-i', folder / 'b_large.png', '-o', tmp_path / 'out', '--model_path', tmp_path / 'net_g.pth',
               '--tile', 16, '--tile_pad', 2) == 0
    assert cv2.imread(str(tmp_path / 'out' / 'b_large_x4.png')).shape == (160, 160, 3)
    # already tiled: half the tile
    assert cli('-i', folder / 'b_large.png', '-o', tmp_path / 'o2', '--model_path', tmp_path / 'net_g.pth',
               '--tile', 32) == 1
    assert 'for this 40×40 image in tiles of 32; try --tile 16 (or smaller).' in capsys.readouterr().err
