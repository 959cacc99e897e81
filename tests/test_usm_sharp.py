"""Fix 7 (compat/usm_sharp.py): the Real-ESRGAN models' USM sharpening as two 1-D passes equals BasicSR's ``USMSharp``.

BasicSR's own float32 result carries the round-off of its 2601-term sums (measured 2–3e-6 from the exact blur on
these images; the two-pass sums of 51 terms: about 4e-7), so the bound of 1e-6 is checked against BasicSR's
``USMSharp`` run in float64, its computation without that round-off, and the float32 difference is shown to be
BasicSR's own round-off. The threshold mask (``|I − blur(I)|·255 > 10``) is a step: a pixel whose residual lies
within round-off of the threshold can fall either side in any two float32 computations (2 of the 1.92 M pixels of
the benchmark's four 400×400 photographs, against BasicSR's float32 result); the last test bounds how many, how close
to the threshold they are, and that with the same mask the outputs agree to round-off.
"""
import numpy as np
import pytest
import torch
from basicsr.models import realesrgan_model, realesrnet_model
from basicsr.utils.img_process_util import USMSharp, filter2D
from skimage import data as skdata

import fasrgan_basicsr  # noqa: F401
from fasrgan_basicsr.compat.usm_sharp import SeparableUSMSharp, reflect_band_matrix


def photos(size, names=('astronaut', 'coffee', 'chelsea')):
    crops = [getattr(skdata, name)()[:size[0], :size[1]] for name in names]
    return torch.from_numpy(np.stack(crops).astype(np.float32) / 255).permute(0, 3, 1, 2).contiguous()


def basicsr_usm_float64(img, weight=0.5, threshold=10):
    """BasicSR's ``USMSharp.forward`` step by step in float64 (its class casts the mask to float32, so it cannot run
    in float64 itself): BasicSR's ``filter2D`` with BasicSR's 2-D kernel."""
    kernel = USMSharp().kernel.double()
    img = img.double()
    residual = img - filter2D(img, kernel)
    soft_mask = filter2D((torch.abs(residual) * 255 > threshold).double(), kernel)
    sharp = torch.clip(img + weight * residual, 0, 1)
    return soft_mask * sharp + (1 - soft_mask) * img


# small sizes: BasicSR's 2-D convolution in float64 takes about 0.3 ms a pixel here
CASES = {
    'photos 128×128': lambda: photos((128, 128), ('astronaut', 'chelsea')),
    'photo 64×96 (not square)': lambda: photos((64, 96), ('coffee',)),
    'noise 2×3×48×40': lambda: torch.rand(2, 3, 48, 40, generator=torch.Generator().manual_seed(0)),
}


@pytest.mark.parametrize('case', list(CASES))
def test_two_pass_usm_equals_basicsrs_within_1e_6(case):
    img = CASES[case]()
    with torch.no_grad():
        got = SeparableUSMSharp()(img)
        reference = basicsr_usm_float64(img)  # BasicSR's computation without float32 round-off
        basicsr32 = USMSharp()(img)
    assert got.dtype == torch.float32 and got.shape == img.shape
    ours_error = (got.double() - reference).abs().max().item()
    basicsr_error = (basicsr32.double() - reference).abs().max().item()
    ours_mask = (img - SeparableUSMSharp().blur(img)).abs() * 255 > 10
    reference_mask = (img.double() - filter2D(img.double(), USMSharp().kernel.double())).abs() * 255 > 10
    assert torch.equal(ours_mask, reference_mask)  # on these images no pixel is within round-off of the threshold
    assert ours_error <= 1e-6
    assert ours_error < basicsr_error or basicsr_error == 0  # closer to the exact result than BasicSR's float32
    assert (got - basicsr32).abs().max().item() <= ours_error + basicsr_error  # the rest is BasicSR's own round-off
    assert (got - img).abs().max() > 1e-2  # it does sharpen: the bound means something


def test_the_blur_is_basicsrs_filter2d_and_the_same_algorithm_in_float64():
    img = photos((128, 72))
    ours = SeparableUSMSharp().double()
    with torch.no_grad():
        two_d = filter2D(img.double(), USMSharp().kernel.double())
        assert (ours.blur(img.double()) - two_d).abs().max() < 1e-7  # BasicSR's kernel is rounded to float32
        assert (ours(img.double()) - basicsr_usm_float64(img)).abs().max() < 1e-7
    kernel = ours.kernel_1d
    assert kernel.numel() == 51 and abs(kernel.sum().item() - 1) < 1e-6
    outer = torch.outer(kernel, kernel).float()
    assert torch.allclose(outer, USMSharp().kernel[0], rtol=0, atol=1e-9)  # g gᵀ is BasicSR's 2-D kernel


def test_the_band_matrix_is_reflect_padding_then_a_1d_convolution():
    kernel = torch.tensor([1., 2., 3., 4., 5.], dtype=torch.float64)
    x = torch.arange(7, dtype=torch.float64) ** 2
    padded = torch.nn.functional.pad(x.view(1, 1, -1), (2, 2), mode='reflect').view(-1)
    expected = torch.stack([(padded[i:i + 5] * kernel).sum() for i in range(7)])
    assert torch.equal(reflect_band_matrix(kernel, 7) @ x, expected)
    with pytest.raises(ValueError, match=r'pads by 2 pixels \(reflect\): images need more than 2 pixels .*got 2'):
        reflect_band_matrix(kernel, 2)


def test_the_real_esrgan_models_build_it_through_the_compatibility_layer(tmp_path):
    from conftest import NO_DATA, build_training_model, tiny_options
    for module in (realesrgan_model, realesrnet_model):
        assert issubclass(module.USMSharp, SeparableUSMSharp)  # fix 6 wraps it to place it on the model's device
    opt = tiny_options(NO_DATA, name='usm', model_type='RealESRGANFAModel',
                       network_d={'type': 'UNetDiscriminatorFA', 'num_feat': 4, 'score_head': 'pooled'})
    opt.update(gt_size=32, queue_size=2, l1_gt_usm=True, percep_gt_usm=True, gan_gt_usm=False)
    model = build_training_model(opt, tmp_path)
    assert isinstance(model.usm_sharpener, SeparableUSMSharp)
    gt = photos((32, 32))[:1]
    model.is_train = False  # the paired branch of feed_data (validation): gt_usm from the GT as given
    model.feed_data({'lq': gt[:, :, ::4, ::4], 'gt': gt})
    with torch.no_grad():
        assert (model.gt_usm.double() - basicsr_usm_float64(gt)).abs().max() <= 1e-6


def test_it_follows_the_module_to_another_dtype_and_keeps_a_bounded_cache():
    usm = SeparableUSMSharp()
    usm(torch.rand(1, 1, 32, 40))
    assert set(usm._bands) == {(32, torch.device('cpu'), torch.float32), (40, torch.device('cpu'), torch.float32)}
    usm.double()
    assert usm._bands == {} and usm(torch.rand(1, 1, 32, 32, dtype=torch.float64)).dtype == torch.float64
    for n in range(30, 50):
        usm.blur(torch.rand(1, 1, n, 30, dtype=torch.float64))
    assert len(usm._bands) <= 8


def test_on_the_benchmarks_photographs_only_pixels_at_the_threshold_differ():
    """The four 400×400 HR photographs of ``benchmarks/bench_realworld.py`` against BasicSR's float32 ``USMSharp``:
    the blurs differ by BasicSR's own round-off, the masks only where the residual is within round-off of the
    threshold, and with BasicSR's mask the outputs agree to round-off."""
    img = torch.cat([photos((400, 400), ('astronaut', 'coffee')), photos((400, 400), ('rocket',))])
    ours, basicsr = SeparableUSMSharp(), USMSharp()
    with torch.no_grad():
        blur, reference_blur = ours.blur(img), filter2D(img, basicsr.kernel)
        assert (blur - reference_blur).abs().max() < 5e-6
        residual, reference_residual = img - blur, img - reference_blur
        mask, reference_mask = residual.abs() * 255 > 10, reference_residual.abs() * 255 > 10
        differ = mask != reference_mask
        assert differ.sum() <= 1e-5 * img.numel()
        assert ((residual.abs() * 255 - 10)[differ].abs() < 1e-3).all()  # 1e-3 levels: round-off of the blur
        soft, reference_soft = ours.blur(reference_mask.float()), filter2D(reference_mask.float(), basicsr.kernel)
        out = soft * torch.clip(img + 0.5 * residual, 0, 1) + (1 - soft) * img
        expected = reference_soft * torch.clip(img + 0.5 * reference_residual, 0, 1) + (1 - reference_soft) * img
        assert (out - expected).abs().max() < 5e-6
        assert torch.equal(basicsr(img), expected)  # expected is BasicSR's own forward, step by step
