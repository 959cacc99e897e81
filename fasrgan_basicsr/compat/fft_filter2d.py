"""Fix 8: the Real-ESRGAN models' blur and sinc filtering by FFT on the CPU.

``RealESRGANModel.feed_data`` and ``RealESRNetModel.feed_data`` filter every training batch three times with BasicSR's
``filter2D`` (the first and second blur, then the sinc filter: one random 21×21 kernel per image, after reflect
padding), which runs as a grouped 2-D convolution: 441 multiply-adds a pixel, on the 400×400 HR crops and the resized
images. Once the USM sharpening is cheap (fix 7), that is the largest part of the data path on a CPU.

On CPU tensors the same filtering is done by the convolution theorem, in ``O(N log N)``:

    filter2D(I, K) = crop(IFFT(FFT(pad(I)) · FFT(flip(K))))

with ``pad`` BasicSR's reflect padding by ``k // 2``, the FFTs of the padded size (the valid part of the circular
convolution, which never wraps, is the cropped window) and ``flip`` turning the correlation ``F.conv2d`` computes into
a convolution. Equal to BasicSR's up to float32 round-off (below 1e-6 on images in [0, 1];
``tests/test_fft_filter2d.py``); the later steps that round (JPEG's quantisation, the final 8-bit rounding) can tip
the rare value that lies within round-off of a rounding boundary, as for fix 7's threshold. On CUDA BasicSR's own
``filter2D`` runs unchanged (cuDNN's convolution is fast there). The same arguments and errors as BasicSR's: a
kernel ``(1 | B, k, k)`` with k odd (else ``ValueError('Wrong kernel size')``), an image ``(B, C, H, W)``.

Installed in ``basicsr.models.realesrgan_model`` and ``basicsr.models.realesrnet_model`` before :mod:`.realesrgan`
(fix 6), whose contiguous-input wrapper then wraps it.
"""
import torch
from basicsr.models import realesrgan_model, realesrnet_model
from torch.nn import functional as F


def fft_filter2d(img, kernel):
    """BasicSR's ``filter2D(img, kernel)`` (reflect padding, then correlation with ``kernel``) computed by FFT.

    Args:
        img (Tensor): ``(B, C, H, W)``.
        kernel (Tensor): ``(B, k, k)`` (one kernel per image) or ``(1, k, k)`` (the same for all), k odd.

    Returns:
        Tensor: ``(B, C, H, W)``, ``img``'s dtype.
    """
    k = kernel.size(-1)
    if k % 2 != 1:
        raise ValueError('Wrong kernel size')
    b, c, h, w = img.size()
    padded = F.pad(img, (k // 2, k // 2, k // 2, k // 2), mode='reflect')
    size = padded.shape[-2:]
    spectrum = torch.fft.rfft2(padded, s=size)
    kernel_spectrum = torch.fft.rfft2(kernel.to(img.dtype).flip(-1, -2).reshape(-1, 1, k, k), s=size)
    out = torch.fft.irfft2(spectrum * kernel_spectrum, s=size)
    return out[..., k - 1:k - 1 + h, k - 1:k - 1 + w].contiguous()


def _cpu_by_fft(filter2d):
    def filter2d_fft_on_cpu(img, kernel):
        if img.device.type == 'cpu' and img.is_floating_point():
            return fft_filter2d(img, kernel)
        return filter2d(img, kernel)
    filter2d_fft_on_cpu.__doc__ = f'{fft_filter2d.__doc__.splitlines()[0]} On CUDA: BasicSR\'s ``filter2D``.'
    return filter2d_fft_on_cpu


def fft_filter2d_on_cpu():
    """BasicSR's Real-ESRGAN models filter CPU batches with :func:`fft_filter2d` (CUDA ones with BasicSR's)."""
    for module in (realesrgan_model, realesrnet_model):
        module.filter2D = _cpu_by_fft(module.filter2D)
