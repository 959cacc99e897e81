"""Super-resolution of a whole image or in tiles, under autocast, and wall-clock timing that waits for CUDA."""
import time

import torch


def _forward(net, lr, amp_dtype):
    with torch.autocast(device_type=lr.device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
        return net(lr).float()


@torch.no_grad()
def upscale(net, lr, scale, tile=0, tile_pad=10, amp_dtype=None, out_device=None):
    """Super-resolve ``lr`` whole or in tiles.

    Tiling: the LR image is cut into ``tile × tile`` tiles; each is run with ``tile_pad`` extra LR
    pixels of context on every side that has image there, and only its own region of the output
    is kept. Where a network's receptive field (in LR pixels) reaches no further than ``tile_pad``,
    the tiled output equals the whole-image output up to float rounding; otherwise differences are
    confined to a band of (receptive radius − ``tile_pad``) LR pixels around each seam.

    Args:
        net (nn.Module): A generator (eval mode) on ``lr``'s device.
        lr (Tensor): ``(B, C, H, W)``, range [0, 1].
        scale (int): The generator's upsampling factor.
        tile (int): Tile side in LR pixels; 0 = the whole image at once.
        tile_pad (int): Context around each tile, in LR pixels.
        amp_dtype (torch.dtype | None): ``torch.float16`` / ``torch.bfloat16`` to run under autocast.
        out_device (torch.device | None): Where the output is assembled (default ``lr``'s device; the
            CPU keeps large outputs out of GPU memory).

    Returns:
        Tensor: ``(B, C_out, scale·H, scale·W)`` float32, not clamped.
    """
    if tile <= 0:
        return _forward(net, lr, amp_dtype).to(out_device or lr.device)
    if tile_pad < 0:
        raise ValueError(f'tile_pad must be >= 0, got {tile_pad}.')
    _, _, h, w = lr.shape
    out = None
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            py0, px0 = max(y0 - tile_pad, 0), max(x0 - tile_pad, 0)
            py1, px1 = min(y1 + tile_pad, h), min(x1 + tile_pad, w)
            sr = _forward(net, lr[..., py0:py1, px0:px1], amp_dtype)
            if out is None:
                out = sr.new_zeros((lr.size(0), sr.size(1), h * scale, w * scale), device=out_device or lr.device)
            out[..., y0 * scale:y1 * scale, x0 * scale:x1 * scale] = sr[
                ..., (y0 - py0) * scale:(y1 - py0) * scale, (x0 - px0) * scale:(x1 - px0) * scale]
    return out


def synchronize(device):
    """Wait for ``device`` (CUDA) so that wall-clock timings are real."""
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize(device)


class Timer:
    """``with Timer(device) as t: ...`` → ``t.seconds`` (CUDA synchronised)."""

    def __init__(self, device='cpu'):
        self.device = device
        self.seconds = None

    def __enter__(self):
        synchronize(self.device)
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        synchronize(self.device)
        self.seconds = time.perf_counter() - self._start
