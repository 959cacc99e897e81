"""Registered metrics: RMSE on hand-computed images, NIQE's reference value, LPIPS through the real loaders
(stand-in AlexNet checkpoint, the lpips package's linear layers), PI with and without pyiqa."""
import math
import sys
import types
import urllib.error
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from basicsr.metrics import calculate_metric, calculate_niqe
from conftest import SHARED, write_stand_in_weights

from fasrgan_basicsr.metrics import lpips_metric, pi_metric, unavailable

BABOON = SHARED / 'benchmarks' / 'niqe' / 'baboon.png'


@pytest.fixture
def basicsr_log(basicsr_messages):
    unavailable.reset()
    yield basicsr_messages
    unavailable.reset()


@pytest.fixture
def stand_in_alexnet(tmp_path, monkeypatch):
    """torchvision's AlexNet checkpoint with the right shapes in a temporary torch cache; returns the state saved."""
    from torchvision.models import alexnet
    state = write_stand_in_weights(tmp_path / 'torch_home', alexnet, lpips_metric.ALEXNET_FILE, std=0.05)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    lpips_metric.clear_cache()
    yield state
    lpips_metric.clear_cache()


def two_photos():
    from skimage import data
    rgb = data.astronaut()[100:164, 150:230]
    other = data.coffee()[100:164, 150:230]
    return rgb, other


def test_rmse_on_hand_computed_images():
    zeros = np.zeros((8, 10, 3), np.uint8)
    threes = np.full((8, 10, 3), 3, np.uint8)
    assert calculate_metric({'img': zeros, 'img2': threes}, {'type': 'calculate_rmse'}) == 3.0
    # Y of YCbCr: a grey step of 255 moves Y by 219 (16 → 235)
    white = np.full((8, 10, 3), 255, np.uint8)
    rmse_y = calculate_metric({'img': zeros, 'img2': white}, {'type': 'calculate_rmse', 'test_y_channel': True})
    assert rmse_y == pytest.approx(219.0, abs=1e-4)
    # one differing pixel of 6 out of 4 → sqrt(36 / 4); the crop removes the border where it sits
    a, b = np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8)
    b[0, 0] = 12
    assert calculate_metric({'img': a, 'img2': b}, {'type': 'calculate_rmse'}) == pytest.approx(math.sqrt(144 / 16))
    assert calculate_metric({'img': a, 'img2': b}, {'type': 'calculate_rmse', 'crop_border': 1}) == 0.0
    # a single image: PSNR = 20 log10(255 / RMSE)
    rgb, other = two_photos()
    rmse = calculate_metric({'img': rgb, 'img2': other}, {'type': 'calculate_rmse', 'crop_border': 4})
    psnr = calculate_metric({'img': rgb, 'img2': other}, {'type': 'calculate_psnr', 'crop_border': 4})
    assert psnr == pytest.approx(20 * math.log10(255 / rmse), abs=1e-9)


def test_niqe_of_the_reference_image_through_the_registry():
    if not BABOON.is_file():
        pytest.skip(f'{BABOON} (shared reference data) is absent')
    img = cv2.imread(str(BABOON))
    niqe = calculate_metric({'img': img, 'img2': img}, {'type': 'calculate_niqe', 'crop_border': 0, 'better': 'lower'})
    assert round(niqe, 4) == 5.7296


def test_lpips_loads_alexnet_through_torchvision_and_the_packages_linear_layers(stand_in_alexnet):
    import lpips
    rgb, _ = two_photos()
    for version in ('0.0', '0.1'):
        assert calculate_metric({'img': rgb, 'img2': rgb.copy()}, {'type': 'calculate_lpips', 'version': version,
                                                                  'device': 'cpu'}) == 0.0
        model = lpips_metric.get_lpips_network('alex', version, 'cpu')
        backbone = {'slice1.0': 'features.0', 'slice2.3': 'features.3', 'slice3.6': 'features.6',
                    'slice4.8': 'features.8', 'slice5.10': 'features.10'}
        for ours, theirs in backbone.items():
            slice_name, index = ours.split('.')
            conv = getattr(getattr(model.net, slice_name), index)  # lpips keeps AlexNet's layer indices as names
            assert torch.equal(conv.weight, stand_in_alexnet[f'{theirs}.weight'])
            assert torch.equal(conv.bias, stand_in_alexnet[f'{theirs}.bias'])
        shipped = torch.load(Path(lpips.__file__).parent / 'weights' / f'v{version}' / 'alex.pth',
                             map_location='cpu', weights_only=True)
        for k in range(5):
            assert torch.equal(model.lins[k].model[1].weight, shipped[f'lin{k}.model.1.weight'])
    assert not torch.equal(lpips_metric.get_lpips_network('alex', '0.0', 'cpu').lin0.model[1].weight,
                           lpips_metric.get_lpips_network('alex', '0.1', 'cpu').lin0.model[1].weight)


def test_lpips_converts_bgr_uint8_to_rgb_in_minus_one_one_and_caches_the_network(stand_in_alexnet, monkeypatch):
    import lpips
    built = []
    real = lpips.LPIPS

    def counting(*args, **kwargs):
        built.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(lpips, 'LPIPS', counting)
    rgb, other = two_photos()
    opt = {'type': 'calculate_lpips', 'device': 'cpu'}
    value = calculate_metric({'img': rgb[..., ::-1], 'img2': other[..., ::-1]}, opt)  # BGR, as tensor2img gives
    reference = real(net='alex', version='0.0', verbose=False).eval()
    as_tensor = [torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].float() / 255 * 2 - 1
                 for x in (rgb, other)]
    with torch.no_grad():
        expected = reference(as_tensor[1], as_tensor[0]).item()
        swapped = reference(as_tensor[1].flip(1), as_tensor[0].flip(1)).item()
    assert value == pytest.approx(expected, rel=1e-5) and value > 0
    assert abs(swapped - expected) > 1e-4 * expected  # the channel order matters: a BGR mix-up would show
    assert calculate_metric({'img': other[..., ::-1], 'img2': rgb[..., ::-1]}, opt) == pytest.approx(value, rel=1e-5)
    cropped = calculate_metric({'img': rgb[4:-4, 4:-4, ::-1], 'img2': other[4:-4, 4:-4, ::-1]}, opt)
    assert calculate_metric({'img': rgb[..., ::-1], 'img2': other[..., ::-1]},
                            {**opt, 'crop_border': 4}) == pytest.approx(cropped, rel=1e-6)
    assert len(built) == 1  # one network for (alex, 0.0, cpu), reused for every call
    calculate_metric({'img': rgb, 'img2': other}, {**opt, 'version': '0.1'})
    assert [b['version'] for b in built] == ['0.0', '0.1']
    assert lpips_metric.default_device() == torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def test_lpips_without_weights_logs_once_and_reports_nan(tmp_path, monkeypatch, basicsr_log):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'empty_torch_home'))
    attempts = []

    def offline(url, *args, **kwargs):
        attempts.append(url)
        raise urllib.error.URLError('no network')

    import torchvision.models._api
    monkeypatch.setattr(torchvision.models._api, 'load_state_dict_from_url', offline)  # the loader's download step
    lpips_metric.clear_cache()
    rgb, other = two_photos()
    try:
        values = [calculate_metric({'img': rgb, 'img2': other}, {'type': 'calculate_lpips', 'device': 'cpu'})
                  for _ in range(3)]
    finally:
        lpips_metric.clear_cache()
    assert all(math.isnan(v) for v in values)
    assert len(attempts) == 1  # not retried for every image
    assert len(basicsr_log) == 1
    assert lpips_metric.ALEXNET_FILE in basicsr_log[0] and 'no network' in basicsr_log[0]
    assert 'other metrics are still computed' in basicsr_log[0]


def fake_pyiqa(score=6.5, fail=None):
    calls = []

    def create_metric(name, as_loss=False, device=None, **kwargs):
        if fail is not None:
            raise fail
        calls.append(dict(name=name, as_loss=as_loss, device=device, **kwargs))

        def metric(x):
            calls.append(x)
            return torch.tensor(score)

        return metric

    return types.SimpleNamespace(create_metric=create_metric), calls


@pytest.fixture
def fresh_pi():
    pi_metric.clear_cache()
    yield
    pi_metric.clear_cache()


def test_pi_combines_pyiqas_ma_with_basicsrs_niqe(monkeypatch, fresh_pi):
    if not BABOON.is_file():
        pytest.skip(f'{BABOON} (shared reference data) is absent')
    module, calls = fake_pyiqa(score=6.5)
    monkeypatch.setitem(sys.modules, 'pyiqa', module)
    img = cv2.imread(str(BABOON))
    pi = calculate_metric({'img': img, 'img2': img}, {'type': 'calculate_pi', 'crop_border': 4, 'better': 'lower'})
    niqe = calculate_niqe(img[4:-4, 4:-4], 0)
    assert pi == pytest.approx(((10 - 6.5) + niqe) / 2, abs=1e-9)
    options, seen = calls[0], calls[1]
    assert options['name'] == 'nrqm' and options['color_space'] == 'ycbcr' and options['crop_border'] == 0
    assert options['device'] == torch.device('cpu') and 'pretrained_model_path' not in options
    expected = torch.from_numpy(np.ascontiguousarray(img[4:-4, 4:-4, ::-1])).permute(2, 0, 1)[None].float() / 255
    assert seen.shape == expected.shape and torch.allclose(seen, expected)  # RGB in [0, 1], cropped
    assert calculate_metric({'img': img}, {'type': 'calculate_ma', 'crop_border': 4}) == 6.5
    assert len([c for c in calls if isinstance(c, dict)]) == 1  # the pyiqa metric is built once


def test_pi_names_the_model_path_it_was_given(monkeypatch, fresh_pi, tmp_path):
    module, calls = fake_pyiqa(score=4.0)
    monkeypatch.setitem(sys.modules, 'pyiqa', module)
    img = np.full((32, 32, 3), 128, np.uint8)
    pi_metric.calculate_ma(img, 0, ma_model_path=str(tmp_path / 'NRQM_model.mat'))
    assert calls[0]['pretrained_model_path'] == str(tmp_path / 'NRQM_model.mat')


@pytest.mark.parametrize('case', ['pyiqa missing', 'model file missing'])
def test_pi_without_pyiqa_or_its_model_logs_once_and_reports_nan(monkeypatch, fresh_pi, basicsr_log, case):
    if case == 'pyiqa missing':
        monkeypatch.setitem(sys.modules, 'pyiqa', None)  # import pyiqa → ImportError
        hint = 'pip install -e .[pi]'
    else:
        module, _ = fake_pyiqa(fail=FileNotFoundError('NRQM_model.mat not found'))
        monkeypatch.setitem(sys.modules, 'pyiqa', module)
        hint = 'pyiqa/NRQM_model.mat'
    img = np.full((200, 200, 3), 100, np.uint8)
    values = [calculate_metric({'img': img}, {'type': t, 'crop_border': 4}) for t in ('calculate_pi', 'calculate_ma')]
    assert all(math.isnan(v) for v in values)
    assert len(basicsr_log) == 1 and hint in basicsr_log[0] and 'other metrics are still computed' in basicsr_log[0]
