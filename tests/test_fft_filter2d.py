"""Fix 8 (compat/fft_filter2d.py): the Real-ESRGAN models' blur and sinc filtering by FFT equals BasicSR's filter2D.

As for the USM (tests/test_usm_sharp.py), BasicSR's float32 convolution carries round-off of its own (up to 1.1e-6 on
images in [0, 1] with the recipe's kernels; the FFT: 3e-7), so the bound is checked against BasicSR's ``filter2D`` run
in float64, scaled by the kernel's sum of absolute values (1 for the blur kernels, about 4 for the sinc).
"""
import numpy as np
import pytest
import torch
from basicsr.data.degradations import circular_lowpass_kernel, random_mixed_kernels
from basicsr.models import realesrgan_model, realesrnet_model
from basicsr.utils.img_process_util import filter2D

import fasrgan_basicsr  # noqa: F401
from fasrgan_basicsr.compat.fft_filter2d import fft_filter2d


def recipe_kernels(batch, seed):
    """Kernels as RealESRGANDataset draws them (the recipe's six kinds, 21×21) and a sinc kernel, float32."""
    np.random.seed(seed)
    kinds = ['iso', 'aniso', 'generalized_iso', 'generalized_aniso', 'plateau_iso', 'plateau_aniso']
    blur = [random_mixed_kernels(kinds, [0.45, 0.25, 0.12, 0.03, 0.12, 0.03], 21, [0.2, 3], [0.2, 3], [-np.pi, np.pi],
                                 [0.5, 4], [1, 2], noise_range=None) for _ in range(batch)]
    sinc = [circular_lowpass_kernel(np.random.uniform(np.pi / 3, np.pi), 21, pad_to=False) for _ in range(batch)]
    return (torch.from_numpy(np.stack(blur)).float(), torch.from_numpy(np.stack(sinc)).float())


@pytest.mark.parametrize('shape', [(2, 3, 64, 64), (3, 3, 37, 52), (1, 1, 100, 24)])
def test_fft_filtering_equals_basicsrs_filter2d_within_1e_6(shape):
    img = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    blur, sinc = recipe_kernels(shape[0], seed=shape[2])
    for kernel in (blur, sinc, blur[:1], torch.rand(shape[0], 7, 7)):  # per image, one for all, other sizes
        expected, reference = filter2D(img, kernel), filter2D(img.double(), kernel.double())
        got = fft_filter2d(img, kernel)
        assert got.shape == expected.shape and got.dtype == expected.dtype and got.is_contiguous()
        scale = kernel.abs().sum((1, 2)).max().item()
        assert (got.double() - reference).abs().max() <= 1e-6 * scale
        assert (expected.double() - reference).abs().max() <= 2e-6 * scale  # BasicSR's own float32 round-off


def test_non_contiguous_images_and_the_same_errors_as_basicsr():
    img = torch.rand(2, 3, 40, 30).transpose(2, 3)  # what the JPEG simulator returns: not contiguous
    kernel = recipe_kernels(2, seed=1)[0]
    assert (fft_filter2d(img, kernel).double() - filter2D(img.double(), kernel.double())).abs().max() <= 1e-6
    with pytest.raises(ValueError, match='Wrong kernel size'):
        fft_filter2d(img, torch.rand(2, 4, 4))
    with pytest.raises(RuntimeError):  # reflect padding needs the image larger than k // 2, as in BasicSR
        fft_filter2d(torch.rand(1, 1, 8, 8), torch.rand(1, 21, 21))


def test_the_real_esrgan_models_filter_cpu_batches_by_fft_and_cuda_ones_by_basicsrs_convolution(monkeypatch):
    img, kernel = torch.rand(2, 3, 48, 48), recipe_kernels(2, seed=2)[0]
    for module in (realesrgan_model, realesrnet_model):
        assert (module.filter2D(img, kernel).double() - filter2D(img.double(), kernel.double())).abs().max() <= 1e-6
        calls = []
        monkeypatch.setattr('fasrgan_basicsr.compat.fft_filter2d.fft_filter2d', lambda *a: calls.append(a))
        module.filter2D(img, kernel)
        assert len(calls) == 1  # the CPU path is the FFT one
        monkeypatch.undo()
