"""Fix 7: the USM sharpening of BasicSR's Real-ESRGAN models as two 1-D Gaussian passes.

``RealESRGANModel`` and ``RealESRNetModel`` sharpen the GT with BasicSR's ``USMSharp`` twice per training iteration
(the HR crops, then the GT patches after the training-pair pool), and each call blurs twice (the image, then the
threshold mask) with a 51×51 Gaussian (``cv2.getGaussianKernel(51, 0)``, σ = 8) applied by ``filter2D`` as one 2-D
convolution after 25 pixels of reflect padding: 2601 multiply-adds per pixel, the data path's largest cost on a CPU.

The Gaussian is the outer product ``g gᵀ`` of its 1-D kernel, and reflect padding is separable too
(``pad(X)[i, j] = X[r(i), r(j)]``), so the same blur is a vertical then a horizontal 1-D pass:

    blur(X) = A_h · X · A_wᵀ,   (A_n)[i, m] = Σ_{k: r_n(i + k − 25) = m} g[k]

with ``r_n`` the reflection of an index into ``0 … n−1``. ``A_n`` is the 1-D pass, reflect border included, as an
``n × n`` banded matrix; both passes run as matrix products (BLAS), several times faster than either the 2-D
convolution or two 51-tap 1-D convolutions on a CPU (``benchmarks/bench_realworld.py`` measures it). The result
equals BasicSR's up to float32 round-off: BasicSR's own 2601-term float32 sums are 2–3e-6 from the exact blur,
these 51-term sums about 4e-7, and the sharpened images are within 1e-6 of BasicSR's computation done in float64
(``tests/test_usm_sharp.py``). The one step that round-off can tip is the threshold: a pixel whose residual lies
within about 1e-6 of ``threshold / 255`` may fall on the other side than in BasicSR's float32 result (2 of the
1.92 M pixels of four 400×400 photographs), which moves the sharpened image around it by up to 3e-4 (a tenth of an
8-bit level), as any two float32 implementations of that threshold may. Everything else of ``USMSharp.forward`` is
unchanged:
``residual = I − blur(I)``, ``mask = |residual|·255 > threshold``, ``sharp = clip(I + weight·residual, 0, 1)``,
``out = blur(mask)·sharp + (1 − blur(mask))·I``.

Installed in ``basicsr.models.realesrgan_model`` and ``basicsr.models.realesrnet_model`` (what their ``__init__``
builds), so ``RealESRGANModel``, ``RealESRNetModel`` and every subclass (``RealESRGANFAModel``) use it; before
:mod:`.realesrgan` (fix 6), which places it on the model's device.
"""
import cv2
import torch
from basicsr.models import realesrgan_model, realesrnet_model


def reflect_band_matrix(kernel, n):
    """``(n, n)`` matrix ``A`` with ``(A @ x)[i] = Σ_k kernel[k] · x[r(i + k − K//2)]``: the 1-D filtering of a length-n
    signal after reflect padding (``F.pad(..., mode='reflect')``, edge not repeated), as a matrix.

    ``kernel``: ``(K,)`` with K odd; ``n`` must exceed ``K//2`` (what reflect padding allows).
    """
    half = kernel.numel() // 2
    if n <= half:
        raise ValueError(f'USM sharpening pads by {half} pixels (reflect): images need more than {half} pixels on each '
                         f'side, got {n}.')
    index = torch.arange(n, device=kernel.device)[:, None] + torch.arange(-half, half + 1, device=kernel.device)
    index = index.abs()
    index = torch.where(index > n - 1, 2 * (n - 1) - index, index)
    band = torch.zeros(n, n, dtype=kernel.dtype, device=kernel.device)
    return band.scatter_add_(1, index, kernel.expand(n, -1).contiguous())


class SeparableUSMSharp(torch.nn.Module):
    """BasicSR's ``USMSharp`` (same arguments, same result to float round-off) with the Gaussian as two 1-D passes.

    Args:
        radius (int): Kernel size (an even one is made odd, as BasicSR does). Default: 50 (→ 51).
        sigma (float): Gaussian σ; 0 lets OpenCV derive it from the size (8.0 for 51). Default: 0.

    Shapes: ``forward(img (B, C, H, W), weight, threshold)`` → ``(B, C, H, W)``, with H and W above ``radius // 2``.
    """

    def __init__(self, radius=50, sigma=0):
        super().__init__()
        if radius % 2 == 0:
            radius += 1
        self.radius = radius
        self.register_buffer('kernel_1d', torch.from_numpy(cv2.getGaussianKernel(radius, sigma)[:, 0]).float())
        self._bands = {}

    def _band(self, n):
        key = (n, self.kernel_1d.device, self.kernel_1d.dtype)
        if key not in self._bands:
            if len(self._bands) >= 8:  # a few patch sizes recur; never grow without bound
                self._bands.clear()
            self._bands[key] = reflect_band_matrix(self.kernel_1d, n)
        return self._bands[key]

    def _apply(self, fn, *args, **kwargs):  # .to(), .cuda(), .double(): the cached matrices follow the kernel
        self._bands = {}
        return super()._apply(fn, *args, **kwargs)

    def blur(self, img):
        """The 2-D Gaussian blur of ``filter2D(img, g gᵀ)`` as ``A_h · img · A_wᵀ`` (see the module docstring)."""
        h, w = img.shape[-2:]
        band_h, band_w = self._band(h), self._band(w)
        return torch.matmul(torch.matmul(band_h, img.to(band_h.dtype)), band_w.transpose(0, 1))

    def forward(self, img, weight=0.5, threshold=10):
        blur = self.blur(img)
        residual = img - blur
        mask = (torch.abs(residual) * 255 > threshold).to(blur.dtype)
        soft_mask = self.blur(mask)
        sharp = torch.clip(img + weight * residual, 0, 1)
        return soft_mask * sharp + (1 - soft_mask) * img


def usm_two_pass():
    """BasicSR's Real-ESRGAN models build :class:`SeparableUSMSharp` as their ``usm_sharpener``."""
    for module in (realesrgan_model, realesrnet_model):
        module.USMSharp = SeparableUSMSharp
