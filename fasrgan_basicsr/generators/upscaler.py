"""A generator with its inference settings: one image in, its super-resolved image out (Real-ESRGAN's conventions).

See ``fasrgan-infer --help`` (:mod:`fasrgan_basicsr.cli.inference`) for what each setting means to a user.
"""
import math
import re
import sys

import cv2
import numpy as np
import torch
from basicsr.utils.matlab_functions import imresize
from torch.nn import functional as F
from tqdm import tqdm

from .image_io import to_image, to_tensor
from .loading import network_scale
from .tiling import upscale


def output_size(h, w, outscale):
    """``(floor(H·S), floor(W·S))``, at least 1 pixel each; ``outscale`` exact (a Fraction or an int)."""
    return max(1, math.floor(h * outscale)), max(1, math.floor(w * outscale))


def unshuffle_factor(opt):
    """The multiple the input's height and width must have: BasicSR's ×2/×1 RRDBNet pixel-unshuffles by 2/4."""
    return {2: 2, 1: 4}.get(opt.get('scale'), 1) if opt['type'] == 'RRDBNet' else 1


def round_up(value, multiple):
    return -(-value // multiple) * multiple


class Upscaler:
    """A generator with its settings; :meth:`__call__` super-resolves one HWC BGR(A)/grey float image.

    Args:
        net (nn.Module): The generator (eval mode); ``opt`` its ``network_g`` options.
        device (str | torch.device): Where the network runs.
        outscale (Fraction | int | None): Final scale of the output; None = the network's scale.
        tile, tile_pad, pre_pad (int): LR pixels (see the module docstring).
        amp_dtype (torch.dtype | None): Autocast dtype (``torch.float16`` / ``torch.bfloat16``).
        alpha_upsampler (str): ``'bicubic'`` or ``'model'``.
        progress (str | None): Name shown on the tile progress bar (None: no bar).
    """

    def __init__(self, net, opt, device, outscale=None, tile=0, tile_pad=10, pre_pad=0, amp_dtype=None,
                 alpha_upsampler='bicubic'):
        self.device = torch.device(device)
        self.net, self.opt = net.to(self.device), opt
        self.scale = network_scale(opt)
        self.outscale = self.scale if outscale is None else outscale
        self.num_in_ch = opt.get('num_in_ch', 3)
        self.multiple = unshuffle_factor(opt)
        self.tile = round_up(tile, self.multiple)
        self.tile_pad = round_up(tile_pad, self.multiple)
        self.pre_pad, self.amp_dtype, self.alpha_upsampler = pre_pad, amp_dtype, alpha_upsampler

    def tile_count(self, h, w):
        """Number of tiles (network passes) for an ``h × w`` LR image; 1 when untiled."""
        if self.tile <= 0:
            return 1
        h, w = (round_up(n + self.pre_pad, self.multiple) for n in (h, w))
        return math.ceil(h / self.tile) * math.ceil(w / self.tile)

    def _network(self, img, progress):
        """HWC float image (``num_in_ch`` channels) → HWC output at the network's scale."""
        lr = to_tensor(img, self.device)
        h, w = lr.shape[-2:]
        pad_h, pad_w = (round_up(n + self.pre_pad, self.multiple) - n for n in (h, w))
        if pad_h or pad_w:  # mirror below and to the right; replicate where the image is too small to mirror
            lr = F.pad(lr, (0, pad_w, 0, pad_h), mode='reflect' if pad_h < h and pad_w < w else 'replicate')
        bar = None
        if progress is not None and self.tile_count(h, w) > 1:
            bar = tqdm(total=self.tile_count(h, w), desc=progress, unit='tile', leave=False, file=sys.stderr)

            def count_tile(*_):  # called once per tile by upscale(); returns None, so the output is kept
                bar.update()
            hook = self.net.register_forward_hook(count_tile)
        try:
            sr = upscale(self.net, lr, self.scale, self.tile, self.tile_pad, self.amp_dtype,
                         out_device=torch.device('cpu'))
        finally:
            if bar is not None:
                hook.remove()
                bar.close()
        return to_image(sr[..., :h * self.scale, :w * self.scale])

    def _run(self, img, progress):
        """HWC image with 1 or 3 channels → HWC output with as many, through the network's channels."""
        channels = img.shape[2]
        if channels != self.num_in_ch:
            img = np.repeat(img, 3, axis=2) if channels == 1 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)[..., None]
        out = self._network(img, progress)
        if out.shape[2] != channels:
            out = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)[..., None] if channels == 1 else np.repeat(out, 3, axis=2)
        return out

    def resize(self, out, h, w):
        """The network's output of an ``h × w`` input → exactly :func:`output_size`; Lanczos-4 up, area down."""
        size = output_size(h, w, self.outscale)
        if size == out.shape[:2]:
            return out
        interpolation = cv2.INTER_LANCZOS4 if self.outscale > self.scale else cv2.INTER_AREA
        resized = cv2.resize(out, (size[1], size[0]), interpolation=interpolation)
        return np.clip(resized.reshape(*size, out.shape[2]), 0, 1)

    def __call__(self, img, name=None):
        """``(H, W, C)`` float BGR(A)/grey in [0, 1] → ``output_size(H, W)`` with C channels, in [0, 1].

        ``name`` labels the tile progress bar (no bar when None).
        """
        if img.shape[2] == 4:
            colour, alpha = img[..., :3], img[..., 3:]
            if self.alpha_upsampler == 'model':
                alpha = self._run(alpha, name and f'{name} alpha')
            else:
                alpha = np.clip(imresize(alpha, self.scale), 0, 1).reshape(*(n * self.scale for n in img.shape[:2]), 1)
            out = np.concatenate([self._run(colour, name), alpha], axis=2)
        else:
            out = self._run(img, name)
        return self.resize(out, *img.shape[:2])


def is_out_of_memory(err):
    """A CUDA ``torch.OutOfMemoryError``, a ``MemoryError``, or the CPU allocator's ``RuntimeError``."""
    return isinstance(err, (MemoryError, torch.OutOfMemoryError)) or (
        isinstance(err, RuntimeError) and re.search(r'out of memory|not enough memory|can.t allocate memory', str(err),
                                                    re.IGNORECASE) is not None)


def out_of_memory_message(path, size, tile, device):
    """One line naming the image and the ``--tile`` to try: half the current tile, else 256 (less for small images)."""
    what = f'this {size[1]}×{size[0]} image' if size else 'this image'
    if tile:
        return (f'{path}: out of memory on {device} for {what} in tiles of {tile}; try --tile {max(tile // 2, 16)} '
                '(or smaller).')
    hint = 256 if size is None else min(256, max(16, 2 ** int(math.log2(max(size))) // 2))
    return f'{path}: out of memory on {device} for {what}; try --tile {hint} (or smaller) to process it in tiles.'
