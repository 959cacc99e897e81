"""inference.py's Real-ESRGAN-style flags, end to end through its CLI (``run_cli(inference.main, argv)``) on tiny
generators whose weights make a varied colour output: exact ``--outscale`` sizes and resampling, ``--ext``, tiles
(with their progress bar), ``--pre_pad``, grey and alpha inputs, ``--bf16`` and the precision defaults."""
import re
from fractions import Fraction

import cv2
import numpy as np
import pytest
import torch
from basicsr.archs import build_network
from basicsr.utils.matlab_functions import imresize
from conftest import TINY_G
from skimage import data

from fasrgan_basicsr.cli import inference
from fasrgan_basicsr.generators import devices, loading, upscaler
from fasrgan_basicsr.utils.cli import UserError, run_cli

# receptive radius of TINY_G in LR pixels (see test_inference.py)
TINY_G_RADIUS = 19
# the ×2 RRDBNet runs its 17 convs on pixel-unshuffled (half-size) features: 2 × 17 + the upsampling tail < 40
TINY_G2_RADIUS = 40


def vivid_generator(path, opt=TINY_G, seed=0):
    """A tiny generator whose output varies with the image and differs between channels, saved to ``path``.

    BasicSR's initialisation (×0.1) makes a tiny RRDBNet's output a near-constant negative that clamps to black,
    which would let any content check pass; unit-variance weights and a mid-grey output bias do not.
    """
    net = build_network(dict(opt)).eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in net.named_parameters():
            param.copy_(torch.randn(param.shape, generator=gen) * param[0].numel() ** -0.5 if name.endswith('weight')
                        else torch.zeros_like(param))
        net.conv_last.bias.fill_(0.5)
    torch.save({'params': net.state_dict()}, path)
    return net


@pytest.fixture(scope='module')
def g4(tmp_path_factory):
    path = tmp_path_factory.mktemp('g4') / 'net_g.pth'
    vivid_generator(path)
    return path


def photo(h=12, w=16, top=100, left=180):
    """A crop of scikit-image's chelsea (BGR, uint8), downscaled ×4 with INTER_AREA: real LR-like content."""
    img = cv2.cvtColor(data.chelsea(), cv2.COLOR_RGB2BGR)[top:top + 4 * h, left:left + 4 * w]
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)


def cli(*args):
    return run_cli(inference.main, [str(a) for a in args])


def read(path):
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, path
    return img


def levels(a, b):
    """Max absolute difference in grey levels."""
    return np.abs(a.astype(np.float64) - b.astype(np.float64)).max()


def test_output_size_is_the_floor_of_size_times_outscale_computed_exactly():
    # every decimal scale 0.01 … 8.00 on every side 1 … 120: floor(n · k / 100) in integers
    for k in range(1, 801):
        scale = inference.parse_outscale(f'{k / 100:.2f}')
        assert scale == Fraction(k, 100)
        for n in range(1, 121):
            assert upscaler.output_size(n, 2 * n, scale) == (max(1, n * k // 100), max(1, 2 * n * k // 100))
    # float arithmetic (Real-ESRGAN's int(w * outscale)) loses a pixel here; the exact rule does not
    assert int(100 * 0.29) == 28 and upscaler.output_size(100, 100, inference.parse_outscale('0.29')) == (29, 29)
    for bad in ('0', '-2', 'x3', '1/0'):
        with pytest.raises(Exception, match='expected a number > 0'):
            inference.parse_outscale(bad)


def test_outscale_resizes_the_network_output_to_the_exact_size(g4, tmp_path, capsys):
    lr = photo(13, 10)  # H 13, W 10
    cv2.imwrite(str(tmp_path / 'photo.png'), lr)
    net, opt = loading.load_generator(str(g4))
    native = upscaler.Upscaler(net, opt, 'cpu')(lr.astype(np.float32) / 255)  # the network's ×4 output, float
    assert native.shape == (52, 40, 3) and native.std() > 0.08  # a varied image, not a flat one

    def resized(size_hw, interpolation):
        return np.clip(cv2.resize(native, size_hw[::-1], interpolation=interpolation), 0, 1) * 255

    # shrinking the ×4 output (the usual case, e.g. -s 3.5): floor(13·3.5) × floor(10·3.5) = 45 × 35, area averaging
    assert cli('-i', tmp_path / 'photo.png', '-o', tmp_path / 'down', '--model_path', g4, '-s', '3.5') == 0
    out = capsys.readouterr().out
    assert 'RRDBNet ×4 on cpu (float32), output ×3.5 (area): 1 image(s)' in out
    assert re.search(r'photo\.png: 10×13 → 35×45 in [0-9.]+ s → .*photo_x3\.5\.png', out)
    down = read(tmp_path / 'down' / 'photo_x3.5.png')
    assert down.shape == (45, 35, 3) and levels(down, resized((45, 35), cv2.INTER_AREA)) <= 0.501  # rounding only
    assert levels(down, resized((45, 35), cv2.INTER_LANCZOS4)) > 2  # the resampling matters

    # enlarging it: floor(13·5.5) × floor(10·5.5) = 71 × 55, OpenCV Lanczos-4 (Real-ESRGAN's)
    assert cli('-i', tmp_path / 'photo.png', '-o', tmp_path / 'up', '--model_path', g4, '--outscale', '5.5',
               '--suffix', 'big') == 0
    assert 'output ×5.5 (Lanczos-4)' in capsys.readouterr().out
    up = read(tmp_path / 'up' / 'photo_big.png')
    assert up.shape == (71, 55, 3) and levels(up, resized((71, 55), cv2.INTER_LANCZOS4)) <= 0.501
    assert levels(up, resized((71, 55), cv2.INTER_CUBIC)) > 2

    assert cli('-i', tmp_path / 'photo.png', '-o', tmp_path / 'native', '--model_path', g4) == 0
    assert levels(read(tmp_path / 'native' / 'photo_x4.png'), native * 255) <= 0.501
    # -s equal to the network's scale changes nothing
    assert cli('-i', tmp_path / 'photo.png', '-o', tmp_path / 'same', '--model_path', g4, '-s', '4') == 0
    assert (tmp_path / 'same' / 'photo_x4.png').read_bytes() == (tmp_path / 'native' / 'photo_x4.png').read_bytes()


def test_ext_auto_keeps_the_format_alpha_and_depth(g4, tmp_path):
    lr = photo()
    ramp = np.tile(np.linspace(0, 255, lr.shape[1]).round().astype(np.uint8), (lr.shape[0], 1))
    rgba = np.concatenate([lr, ramp[..., None]], axis=2)
    inputs = tmp_path / 'in'
    inputs.mkdir()
    cv2.imwrite(str(inputs / 'colour.png'), lr)
    cv2.imwrite(str(inputs / 'photo.jpg'), lr)
    cv2.imwrite(str(inputs / 'alpha.png'), rgba)
    cv2.imwrite(str(inputs / 'alpha_tif.tif'), rgba)
    cv2.imwrite(str(inputs / 'deep.png'), lr.astype(np.uint16) * 257)

    for ext in ('auto', 'same'):  # same: the old name of auto
        assert cli('-i', inputs, '-o', tmp_path / ext, '--model_path', g4, '--ext', ext) == 0
    auto = tmp_path / 'auto'
    assert sorted(p.name for p in auto.iterdir()) == [
        'alpha_tif_x4.png', 'alpha_x4.png', 'colour_x4.png', 'deep_x4.png', 'photo_x4.jpg']
    assert all((tmp_path / 'same' / p.name).read_bytes() == p.read_bytes() for p in auto.iterdir())

    colour = read(auto / 'colour_x4.png')
    jpeg = auto / 'photo_x4.jpg'
    assert jpeg.read_bytes()[:2] == b'\xff\xd8' and read(jpeg).shape == (48, 64, 3)  # JPEG stays JPEG
    assert cli('-i', inputs / 'photo.jpg', '-o', tmp_path / 'png', '--model_path', g4, '--ext', 'png') == 0
    lossless = read(tmp_path / 'png' / 'photo_x4.png')  # the same result, not JPEG-compressed
    # JPEG (OpenCV's quality 95) on this noisy output: measured mean error 3.4 levels; a mirrored image is ~30 away
    def mean_levels(a, b):
        return np.abs(a.astype(int) - b).mean()
    assert mean_levels(read(jpeg), lossless) < 5 < 15 < mean_levels(lossless[:, ::-1], lossless)
    # alpha: kept (4 channels, PNG even from a TIFF), upscaled by MATLAB bicubic; colour as without alpha
    expected_alpha = np.clip(imresize(ramp[..., None] / 255., 4), 0, 1)[..., 0] * 255
    for name in ('alpha_x4.png', 'alpha_tif_x4.png'):
        out = read(auto / name)
        assert (auto / name).read_bytes()[1:4] == b'PNG' and out.shape == (48, 64, 4)
        assert np.array_equal(out[..., :3], colour) and levels(out[..., 3], expected_alpha) <= 1
    deep = read(auto / 'deep_x4.png')
    assert deep.dtype == np.uint16 and levels(deep / 257., colour) <= 1

    # --ext jpg: JPEG (8-bit, also from the 16-bit PNG), but alpha still goes to PNG
    assert cli('-i', inputs, '-o', tmp_path / 'jpg', '--model_path', g4, '--ext', 'jpg') == 0
    assert sorted(p.name for p in (tmp_path / 'jpg').iterdir()) == [
        'alpha_tif_x4.png', 'alpha_x4.png', 'colour_x4.jpg', 'deep_x4.jpg', 'photo_x4.jpg']
    deep_jpg = read(tmp_path / 'jpg' / 'deep_x4.jpg')
    assert deep_jpg.dtype == np.uint8 and mean_levels(deep_jpg, colour) < 5


def test_tiles_equal_the_whole_image_where_the_pad_covers_the_receptive_field(g4, tmp_path, capsys):
    cv2.imwrite(str(tmp_path / 'photo.png'), photo())  # 12 × 16 LR
    assert cli('-i', tmp_path / 'photo.png', '-o', tmp_path / 'whole', '--model_path', g4) == 0
    capsys.readouterr()
    assert cli('-i', tmp_path / 'photo.png', '-o', tmp_path / 'tiled', '--model_path', g4, '-t', 5,
               '--tile_pad', TINY_G_RADIUS) == 0
    out, err = capsys.readouterr()
    assert 'tiles 5 + 19' in out
    assert re.search(r'photo\.png: +[0-9]+%.*\b[0-9]+/12 \[.*tile/s', err)  # 3 × 4 tiles on the progress bar
    whole, tiled = read(tmp_path / 'whole' / 'photo_x4.png'), read(tmp_path / 'tiled' / 'photo_x4.png')
    assert levels(whole, tiled) <= 1 and (whole == tiled).mean() > 0.99  # float rounding only

    # a ×2 RRDBNet pixel-unshuffles: odd sizes are mirrored to even ones, tiles rounded up to even sizes
    g2 = tmp_path / 'g2.pth'
    vivid_generator(g2, dict(TINY_G, scale=2))
    cv2.imwrite(str(tmp_path / 'odd.png'), photo(13, 11))
    assert cli('-i', tmp_path / 'odd.png', '-o', tmp_path / 'x2', '--model_path', g2) == 0
    assert cli('-i', tmp_path / 'odd.png', '-o', tmp_path / 'x2t', '--model_path', g2, '-t', 5, '--tile_pad',
               TINY_G2_RADIUS - 1) == 0
    assert 'RRDBNet ×2 on cpu (float32), tiles 6 + 40' in capsys.readouterr().out
    odd, odd_tiled = read(tmp_path / 'x2' / 'odd_x2.png'), read(tmp_path / 'x2t' / 'odd_x2.png')
    assert odd.shape == (26, 22, 3) and levels(odd, odd_tiled) <= 1 and odd.std() > 20


def test_pre_pad_changes_only_the_bottom_and_right_border_band(g4, tmp_path):
    """``--pre_pad`` mirrors extra rows/columns below and right of the image and crops their output. A pixel
    whose LR position is farther than the receptive radius from the bottom and right edges never sees them,
    so it must equal the output without pre-padding (to float rounding); within the band it may differ (and
    does: zeros became mirrored image there). A crop taken from the wrong side breaks the first equality."""
    net, opt = loading.load_generator(str(g4))
    lr = photo(40, 44).astype(np.float32) / 255
    plain = upscaler.Upscaler(net, opt, 'cpu')(lr)
    padded = upscaler.Upscaler(net, opt, 'cpu', pre_pad=10)(lr)
    assert padded.shape == plain.shape == (160, 176, 3)
    far = (slice(0, (40 - TINY_G_RADIUS) * 4), slice(0, (44 - TINY_G_RADIUS) * 4))
    assert np.abs(padded - plain)[far].max() < 1e-5
    assert np.abs(padded - plain)[-4:].max() > 1e-2 and np.abs(padded - plain)[:, -4:].max() > 1e-2

    # through the CLI: the same image, same size as without --pre_pad
    cv2.imwrite(str(tmp_path / 'photo.png'), np.round(lr * 255).astype(np.uint8))
    assert cli('-i', tmp_path / 'photo.png', '-o', tmp_path / 'out', '--model_path', g4, '--pre_pad', 10) == 0
    assert levels(read(tmp_path / 'out' / 'photo_x4.png'), padded * 255) <= 0.5 + 1e-3


def test_grey_input_gives_the_grey_conversion_of_the_colour_output(g4, tmp_path):
    grey = cv2.cvtColor(photo(), cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(tmp_path / 'grey.png'), grey)
    cv2.imwrite(str(tmp_path / 'colour.png'), cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))  # the same pixels as RGB
    assert cli('-i', tmp_path, '-o', tmp_path / 'out', '--model_path', g4) == 0
    grey_out, colour_out = read(tmp_path / 'out' / 'grey_x4.png'), read(tmp_path / 'out' / 'colour_x4.png')
    assert grey_out.shape == (48, 64) and colour_out.shape == (48, 64, 3)
    # the network's channels differ a lot, so any single channel (or their mean) is far from the conversion
    assert min(levels(colour_out[..., c], grey_out) for c in range(3)) > 10
    assert levels(grey_out, cv2.cvtColor(colour_out, cv2.COLOR_BGR2GRAY)) <= 1


def test_alpha_upsampler_model_runs_the_network_on_the_alpha_as_grey(g4, tmp_path):
    lr = photo()
    alpha = cv2.cvtColor(photo(top=200, left=60), cv2.COLOR_BGR2GRAY)  # another region: varied alpha
    inputs = tmp_path / 'in'
    inputs.mkdir()
    cv2.imwrite(str(inputs / 'colour.png'), lr)
    cv2.imwrite(str(inputs / 'mask.png'), alpha)
    cv2.imwrite(str(inputs / 'rgba.png'), np.concatenate([lr, alpha[..., None]], axis=2))
    assert cli('-i', inputs, '-o', tmp_path / 'model', '--model_path', g4, '--alpha_upsampler', 'model') == 0
    out = tmp_path / 'model'
    rgba, colour, mask = read(out / 'rgba_x4.png'), read(out / 'colour_x4.png'), read(out / 'mask_x4.png')
    assert rgba.shape == (48, 64, 4)
    assert np.array_equal(rgba[..., :3], colour) and np.array_equal(rgba[..., 3], mask)
    # Real-ESRGAN's name for it; and the default (bicubic) gives another alpha
    assert cli('-i', inputs / 'rgba.png', '-o', tmp_path / 'realesrgan', '--model_path', g4, '--alpha_upsampler',
               'realesrgan') == 0
    assert (tmp_path / 'realesrgan' / 'rgba_x4.png').read_bytes() == (out / 'rgba_x4.png').read_bytes()
    assert cli('-i', inputs / 'rgba.png', '-o', tmp_path / 'bicubic', '--model_path', g4) == 0
    bicubic = read(tmp_path / 'bicubic' / 'rgba_x4.png')
    assert np.array_equal(bicubic[..., :3], colour) and levels(bicubic[..., 3], mask) > 10


def test_bf16_through_the_cli_is_close_to_float32(g4, tmp_path, capsys):
    cv2.imwrite(str(tmp_path / 'photo.png'), photo())
    assert cli('-i', tmp_path / 'photo.png', '-o', tmp_path / 'fp32', '--model_path', g4, '--fp32') == 0
    assert 'on cpu (float32)' in capsys.readouterr().out
    assert cli('-i', tmp_path / 'photo.png', '-o', tmp_path / 'bf16', '--model_path', g4, '--bf16') == 0
    assert 'on cpu (bfloat16 autocast)' in capsys.readouterr().out
    full, half = read(tmp_path / 'fp32' / 'photo_x4.png'), read(tmp_path / 'bf16' / 'photo_x4.png')
    # measured (3 seeds × 3 crops): max 2, mean 0.29–0.39 grey levels; bounds 2× the max, 1.5× the largest mean
    assert 0 < levels(full, half) <= 4 and np.abs(full.astype(int) - half).mean() < 0.6


def test_precision_defaults_follow_real_esrgan():
    cuda, cpu = torch.device('cuda', 0), torch.device('cpu')  # no CUDA call is made for these
    assert devices.amp_dtype_for(cuda) is torch.float16  # half precision by default on CUDA
    assert devices.amp_dtype_for(cuda, fp32=True) is None
    assert devices.amp_dtype_for(cuda, fp16=True) is torch.float16
    assert devices.amp_dtype_for(cpu) is None and devices.amp_dtype_for(cpu, fp32=True) is None
    assert devices.amp_dtype_for(cpu, bf16=True) is torch.bfloat16
    with pytest.raises(UserError, match='--fp16 needs a CUDA device'):
        devices.amp_dtype_for(cpu, fp16=True)
