"""Super-resolve your own images with a trained generator of this project (Real-ESRGAN's command-line conventions).

    python fasrgan_basicsr/inference.py -i IMG_OR_DIR -o OUT_DIR --model_path G.pth [-s 3.5] [-t 256] [--fp32]
    python fasrgan_basicsr/inference.py -i IMG_OR_DIR -o OUT_DIR --arch Bicubic          # the baseline

The architecture (RRDBNet, FsRRDBNet, MSRResNet, FsMSRResNet) and its sizes are recognised from the
checkpoint's keys (``--arch`` names it instead); ``params_ema`` is used when the checkpoint has it.
Each input ``<name>.<ext>`` is written to ``OUT_DIR/<name>_<suffix>.<ext>`` (suffix default ``x<outscale>``).

- ``-s/--outscale S`` (any S > 0, default the network's scale): the network's output is resized after
  the network, as Real-ESRGAN does, to exactly ``floor(W·S) × floor(H·S)`` (S taken exactly as
  written, so ``-s 0.29`` on 100 px gives 29 px; at least 1 px). Resampling: OpenCV's Lanczos-4 when
  enlarging the network's output (Real-ESRGAN's choice), OpenCV's area averaging when shrinking it
  (Lanczos-4 aliases there); on floats before quantisation, clipped to [0, 1].
- ``-t/--tile N`` processes N×N LR tiles with ``--tile_pad`` pixels of context each (a progress bar
  counts the tiles). Where the generator's receptive field (in LR pixels) is within ``tile_pad`` the
  result equals the untiled one up to float rounding; with a smaller pad, differences stay within
  (receptive radius − tile_pad) LR pixels of a seam.
- ``--pre_pad P`` mirrors P extra pixels below and to the right of the image before the network and
  crops them from its output (Real-ESRGAN), so the bottom/right border sees image-like context
  instead of zeros. ×2 and ×1 RRDBNets (pixel-unshuffle) get their input mirrored to a multiple of 2 or
  4 the same way; their tile sizes are rounded up to that multiple.
- Precision: float16 autocast by default on CUDA (``--fp32`` to turn it off, ``--bf16`` for bfloat16),
  float32 on the CPU (``--bf16`` there too). ``-g/--gpu-id N`` means ``--device cuda:N``.
- ``--ext auto`` (default; ``same`` is its old name) keeps the input's format; ``png`` or ``jpg`` choose
  one. An image with an alpha channel is always written as PNG (Real-ESRGAN's rule); a 16-bit image
  stays 16-bit in PNG/TIFF and becomes 8-bit in JPEG.
- Greyscale inputs are super-resolved as RGB and written back as the grey conversion of that output; an
  alpha channel is upscaled separately (``--alpha_upsampler bicubic``, MATLAB bicubic, default; or
  ``model``, the network on the alpha as grey, which Real-ESRGAN calls ``realesrgan``) and kept.
- Existing outputs are never overwritten unless ``--overwrite``, an input never; each file is written to
  a temporary name and renamed, so an interrupted run leaves no half-written image.
- Out of memory on one image (CUDA ``torch.OutOfMemoryError``, or a CPU allocation failure): that image
  is named with a suggested ``--tile``, counted as failed, and the others are processed.

Exit status: 0 all done; 1 some inputs could not be read or processed (each is named, the others are
written); 2 bad arguments, an ``-o`` that is a file, or a checkpoint that is not a generator of this
project (one line, nothing written).
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import argparse
import math
import os
import re
import sys
from fractions import Fraction
from os import path as osp

import cv2
import numpy as np
import torch
from basicsr.utils.matlab_functions import imresize
from torch.nn import functional as F
from tqdm import tqdm

from fasrgan_basicsr.evaluation.generators import (
    GENERATOR_ARCHS,
    NotAGeneratorError,
    Timer,
    load_generator,
    network_scale,
    upscale,
)
from fasrgan_basicsr.utils.cli import UserError, describe_os_error, run_cli
from fasrgan_basicsr.utils.image_files import list_image_files

#: output formats that hold 16-bit samples (OpenCV writes the others with 8 bits)
SIXTEEN_BIT_EXTS = ('.png', '.tif', '.tiff')


class ImageError(UserError):
    """One image of the batch that cannot be read or written (message names the file); the others go on."""



def read_image(path):
    """``(image HWC float32 in [0, 1] with 1, 3 or 4 channels, BGR(A), max value of its dtype)``."""
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ImageError(f'{path}: not a readable image (OpenCV cannot decode it).')
    if img.dtype == np.uint8:
        max_value = 255
    elif img.dtype == np.uint16:
        max_value = 65535
    else:
        raise ImageError(f'{path}: unsupported pixel type {img.dtype} (expected 8- or 16-bit).')
    if img.ndim == 2:
        img = img[..., None]
    if img.shape[2] not in (1, 3, 4):
        raise ImageError(f'{path}: {img.shape[2]} channels (expected grey, BGR or BGRA).')
    return img.astype(np.float32) / max_value, max_value


def to_tensor(img, device):
    """HWC BGR float → ``(1, C, H, W)`` RGB on ``device``."""
    if img.shape[2] == 3:
        img = img[..., ::-1]
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).unsqueeze(0).to(device)


def to_image(tensor):
    """``(1, C, H, W)`` RGB → HWC BGR float in [0, 1]."""
    img = tensor[0].clamp(0, 1).cpu().numpy().transpose(1, 2, 0)
    return np.ascontiguousarray(img[..., ::-1] if img.shape[2] == 3 else img)


def parse_outscale(text):
    """``-s`` as an exact fraction (``'3.5'`` → 7/2), so that output sizes have no float rounding."""
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f'expected a number > 0, got {text!r}') from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f'expected a number > 0, got {text!r}')
    return value


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


def output_path(out_dir, in_path, suffix, ext, has_alpha=False):
    """``out_dir/<stem>_<suffix>.<ext>``: the input's extension for ``auto``; PNG whenever there is alpha."""
    stem, in_ext = osp.splitext(osp.basename(in_path))
    name = f'{stem}_{suffix}' if suffix else stem
    if has_alpha:
        return osp.join(out_dir, name + '.png')
    return osp.join(out_dir, name + (in_ext.lower() if ext in ('auto', 'same') else '.' + ext))


def write_image(img, path, max_value):
    """Quantise (8 bits where the format holds no more) and write atomically (temporary name, then rename)."""
    if not path.lower().endswith(SIXTEEN_BIT_EXTS):
        max_value = 255
    dtype = np.uint8 if max_value == 255 else np.uint16
    data = np.round(np.clip(img, 0, 1) * max_value).astype(dtype)
    if data.shape[2] == 1:
        data = data[..., 0]
    stem, ext = osp.splitext(path)
    tmp = f'{stem}.partial{ext}'
    try:
        if not cv2.imwrite(tmp, data):
            raise ImageError(f'{path}: OpenCV could not write the image.')
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


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



def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('-i', '--input', required=True, help='an image or a folder of images')
    parser.add_argument('-o', '--output', required=True, help='output folder (created)')
    parser.add_argument('--model_path', help='generator checkpoint (net_g_*.pth); not with --arch Bicubic')
    parser.add_argument('--arch', choices=GENERATOR_ARCHS, help='default: recognised from the checkpoint keys')
    parser.add_argument('-s', '--outscale', type=parse_outscale, default=None,
                        help='final scale of the output, any number > 0 (default: the network\'s scale); the '
                        'output is floor(W·S) × floor(H·S), resized after the network (Lanczos-4 up, area down)')
    parser.add_argument('-t', '--tile', type=int, default=0, help='LR tile side in pixels; 0 = whole image (default)')
    parser.add_argument('--tile_pad', type=int, default=10, help='LR context pixels around each tile (default 10)')
    parser.add_argument('--pre_pad', type=int, default=0,
                        help='LR pixels mirrored below and right of the image, cropped after (default 0)')
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument('--fp32', action='store_true', help='float32 (the default on the CPU; on CUDA the '
                           'default is float16 autocast, as Real-ESRGAN\'s half precision)')
    precision.add_argument('--fp16', action='store_true', help='float16 autocast (CUDA only; its default there)')
    precision.add_argument('--bf16', action='store_true', help='bfloat16 autocast (CPU, or CUDA with bf16)')
    parser.add_argument('--alpha_upsampler', choices=('bicubic', 'model', 'realesrgan'), default='bicubic',
                        help='how an alpha channel is upscaled: MATLAB bicubic (default) or the network '
                        '(model; realesrgan is the same, Real-ESRGAN\'s name)')
    parser.add_argument('--suffix', default=None,
                        help="output name: <name>_<suffix>.<ext> (default x<outscale>, e.g. x4); '' for <name>.<ext>")
    parser.add_argument('--ext', choices=('auto', 'png', 'jpg', 'same'), default='auto',
                        help='output format: auto keeps the input\'s (default; same is its old name), png or jpg; '
                        'an image with alpha is always PNG')
    parser.add_argument('--overwrite', action='store_true', help='replace existing outputs (never an input)')
    parser.add_argument('-g', '--gpu-id', type=int, default=None, help='CUDA device index (same as --device cuda:N)')
    parser.add_argument('--device', default=None, help='torch device (default: cuda when available, else cpu)')
    return parser.parse_args(argv)


def device_for(args):
    """The torch device from ``--device`` / ``-g``; raises UserError when it does not exist here."""
    try:
        device = torch.device(args.device) if args.device else None
    except RuntimeError as err:
        raise UserError(f'--device {args.device}: not a torch device ({err}).') from err
    if args.gpu_id is not None:
        if args.gpu_id < 0:
            raise UserError(f'-g {args.gpu_id}: a CUDA device index is >= 0.')
        if device is not None and device != torch.device('cuda', args.gpu_id):
            raise UserError(f'-g {args.gpu_id} and --device {args.device} disagree; give one of them.')
        device = torch.device('cuda', args.gpu_id)
    elif device is None:
        device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    if device.type == 'cuda':
        what = f'-g {args.gpu_id}' if args.gpu_id is not None else f'--device {device}'
        if not torch.cuda.is_available():
            raise UserError(f'{what}: no CUDA device on this machine; use --device cpu.')
        if device.index is not None and not 0 <= device.index < torch.cuda.device_count():
            raise UserError(f'{what}: this machine has {torch.cuda.device_count()} CUDA device(s).')
    return device


def amp_dtype_for(device, fp32=False, fp16=False, bf16=False):
    """The autocast dtype (None = float32): float16 by default on CUDA, float32 on the CPU; raises UserError."""
    if fp16:
        if device.type != 'cuda':
            raise UserError('--fp16 needs a CUDA device (float16 convolutions are not supported well on the CPU); '
                            'use --bf16 on the CPU.')
        return torch.float16
    if bf16:
        if device.type == 'cuda' and not torch.cuda.is_bf16_supported():
            raise UserError(f'--bf16: {torch.cuda.get_device_name(device)} does not support bfloat16; use --fp16.')
        return torch.bfloat16
    return torch.float16 if device.type == 'cuda' and not fp32 else None


def plan_outputs(args, inputs, suffix):
    """``[(input, output)]``; refuses (UserError) an ``-o`` that is a file, an output replacing an input or another
    output, and existing outputs without ``--overwrite`` — before anything is written."""
    if osp.exists(args.output) and not osp.isdir(args.output):
        raise UserError(f'-o {args.output}: is an existing file; expected a folder (created when missing).')
    jobs = [(path, output_path(args.output, path, suffix, args.ext)) for path in inputs]
    sources = {osp.realpath(path): path for path in inputs}
    seen = {}
    for path, out in jobs:
        real = osp.realpath(out)
        if real in sources:
            raise UserError(f'{path}: its output {out} would overwrite the input {sources[real]}; '
                            'set --suffix or another -o.')
        if real in seen:
            raise UserError(f'{seen[real]} and {path} would both be written to {out}; use --ext auto or separate runs.')
        seen[real] = path
    existing = [out for _, out in jobs if osp.exists(out)]
    if existing and not args.overwrite:
        raise UserError(f'{len(existing)} output(s) exist already, e.g. {existing[0]} (use --overwrite to replace '
                        'them); nothing written.')
    return jobs


def main(argv=None):
    args = parse_args(argv)
    if args.model_path is None and args.arch != 'Bicubic':
        raise UserError('give --model_path G.pth (a generator checkpoint), or --arch Bicubic for the baseline.')
    for name in ('tile', 'tile_pad', 'pre_pad'):
        if getattr(args, name) < 0:
            raise UserError(f'--{name} must be >= 0, got {getattr(args, name)}.')
    device = device_for(args)
    amp_dtype = amp_dtype_for(device, args.fp32, args.fp16, args.bf16)
    inputs = list_image_files(args.input)
    try:
        net, opt = load_generator(args.model_path, args.arch)
    except (NotAGeneratorError, FileNotFoundError) as err:
        raise UserError(str(err)) from err
    upscaler = Upscaler(net, opt, device, args.outscale, args.tile, args.tile_pad, args.pre_pad, amp_dtype,
                        'model' if args.alpha_upsampler == 'realesrgan' else args.alpha_upsampler)
    suffix = f'x{float(upscaler.outscale):g}' if args.suffix is None else args.suffix
    jobs = plan_outputs(args, inputs, suffix)
    os.makedirs(args.output, exist_ok=True)

    precision = str(amp_dtype).split('.')[-1] + ' autocast' if amp_dtype else 'float32'
    resampling = 'Lanczos-4' if upscaler.outscale > upscaler.scale else 'area'
    resize = f', output ×{float(upscaler.outscale):g} ({resampling})' if upscaler.outscale != upscaler.scale else ''
    tiles = f', tiles {upscaler.tile} + {upscaler.tile_pad}' if upscaler.tile else ''
    print(f'{opt["type"]} ×{upscaler.scale} on {device} ({precision}){resize}{tiles}: {len(jobs)} image(s) → '
          f'{args.output}', flush=True)
    sources = {osp.realpath(path) for path in inputs}
    written, failures, total = set(), [], 0.
    for path, planned in tqdm(jobs, unit='image', file=sys.stderr, disable=len(jobs) < 2):
        size, message = None, None
        try:
            img, max_value = read_image(path)
            size = img.shape[:2]
            out = output_path(args.output, path, suffix, args.ext, has_alpha=img.shape[2] == 4)
            if out != planned and (osp.realpath(out) in sources | written or (osp.exists(out) and not args.overwrite)):
                raise ImageError(f'{path}: has alpha, so its output is {out}, which exists already or is an input '
                                 '(use --overwrite, another --suffix or another -o).')
            with Timer(device) as timer:
                sr = upscaler(img, name=osp.basename(path))
            write_image(sr, out, max_value)
        except (ImageError, RuntimeError, MemoryError, cv2.error, OSError) as err:
            if isinstance(err, OSError) and describe_os_error(err) is not None:
                raise  # disk full or no permission: run_cli reports it; the other images would fail the same way
            message = (out_of_memory_message(path, size, upscaler.tile, device) if is_out_of_memory(err) else
                       str(err) if isinstance(err, ImageError) else f'{path}: {type(err).__name__}: {err}')
        if message is not None:  # outside the except block: the traceback no longer holds the image's tensors
            if device.type == 'cuda':
                torch.cuda.empty_cache()
            failures.append(message)
            tqdm.write(f'error: {message}', file=sys.stderr)
            continue
        written.add(osp.realpath(out))
        total += timer.seconds
        tqdm.write(f'{osp.basename(path)}: {img.shape[1]}×{img.shape[0]} → {sr.shape[1]}×{sr.shape[0]} in '
                   f'{timer.seconds:.3f} s → {out}', file=sys.stdout)
    done = len(jobs) - len(failures)
    print(f'{done} image(s) in {total:.2f} s ({total / max(done, 1):.3f} s per image)'
          + (f'; {len(failures)} failed:\n  ' + '\n  '.join(failures) if failures else ''), flush=True)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
