"""Super-resolve your own images with a trained generator of this project.

    python fasrgan_basicsr/inference.py -i IMG_OR_DIR -o OUT_DIR --model_path G.pth [--tile 256] [--bf16]
    python fasrgan_basicsr/inference.py -i IMG_OR_DIR -o OUT_DIR --arch Bicubic          # the baseline

The architecture (RRDBNet, FsRRDBNet, MSRResNet, FsMSRResNet) and its sizes are recognised from the
checkpoint's keys (``--arch`` names it instead); ``params_ema`` is used when the checkpoint has it.
Each input ``<name>.<ext>`` is written to ``OUT_DIR/<name>_<suffix>.png`` (suffix default ``x4``).

- Large images: ``--tile N`` processes N×N LR tiles with ``--tile_pad`` pixels of context each. Where
  the generator's receptive field (in LR pixels) is within ``tile_pad`` the result equals the untiled one
  up to float rounding (≤ 1e-4 before quantisation, ≤ 1 grey level after); with a smaller pad, differences
  stay within (receptive radius − tile_pad) LR pixels of a seam.
- ``--fp16`` (CUDA only) / ``--bf16`` (CUDA with bf16 support, or CPU) run the generator under autocast.
- Greyscale inputs are super-resolved as RGB and written back as greyscale; an alpha channel is
  upscaled separately (``--alpha_upsampler bicubic``, MATLAB bicubic, default; or ``model``) and kept;
  16-bit inputs give 16-bit outputs.
- Existing outputs are never overwritten unless ``--overwrite``; each file is written to a temporary
  name and renamed, so an interrupted run leaves no half-written image.

Exit status: 0 all done; 1 some inputs could not be read or processed (each is named, the others are
written); 2 bad arguments or a checkpoint that is not a generator of this project (nothing written).
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import argparse
import os
import sys
from os import path as osp

import cv2
import numpy as np
import torch
from basicsr.utils.matlab_functions import imresize
from tqdm import tqdm

from fasrgan_basicsr.evaluation.generators import (
    GENERATOR_ARCHS,
    Timer,
    load_generator,
    network_scale,
    upscale,
)

IMG_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


class InputError(ValueError):
    """An input image that cannot be used (message names the file)."""


def list_inputs(path):
    """The image files of a folder (sorted), or the single file given."""
    if osp.isdir(path):
        files = sorted(osp.join(path, f) for f in os.listdir(path) if f.lower().endswith(IMG_EXTS))
        if not files:
            raise InputError(f'{path}: no images ({", ".join(IMG_EXTS)}) in this folder.')
        return files
    if not osp.exists(path):
        raise InputError(f'{path}: no such file or folder.')
    return [path]


def read_image(path):
    """``(image HWC float32 in [0, 1] with 1, 3 or 4 channels, BGR(A), max value of its dtype)``."""
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise InputError(f'{path}: not a readable image (OpenCV cannot decode it).')
    if img.dtype == np.uint8:
        max_value = 255
    elif img.dtype == np.uint16:
        max_value = 65535
    else:
        raise InputError(f'{path}: unsupported pixel type {img.dtype} (expected 8- or 16-bit).')
    if img.ndim == 2:
        img = img[..., None]
    if img.shape[2] not in (1, 3, 4):
        raise InputError(f'{path}: {img.shape[2]} channels (expected grey, BGR or BGRA).')
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


class Upscaler:
    """A generator with its settings; :meth:`__call__` super-resolves one HWC BGR(A)/grey image."""

    def __init__(self, net, opt, device, tile=0, tile_pad=10, amp_dtype=None, alpha_upsampler='bicubic'):
        self.net, self.opt, self.device = net.to(device), opt, torch.device(device)
        self.scale = network_scale(opt)
        self.num_in_ch = opt.get('num_in_ch', 3)
        self.tile, self.tile_pad, self.amp_dtype, self.alpha_upsampler = tile, tile_pad, amp_dtype, alpha_upsampler

    def _run(self, img):
        """HWC image with ``num_in_ch`` (or 1 or 3) channels → HWC output."""
        channels = img.shape[2]
        if channels != self.num_in_ch:
            img = np.repeat(img, 3, axis=2) if channels == 1 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)[..., None]
        out = to_image(upscale(self.net, to_tensor(img, self.device), self.scale, self.tile, self.tile_pad,
                               self.amp_dtype, out_device=torch.device('cpu')))
        if out.shape[2] != channels:
            out = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)[..., None] if channels == 1 else np.repeat(out, 3, axis=2)
        return out

    def __call__(self, img):
        if img.shape[2] == 4:
            colour, alpha = img[..., :3], img[..., 3:]
            if self.alpha_upsampler == 'model':
                alpha = self._run(alpha)
            else:
                alpha = np.clip(imresize(alpha, self.scale), 0, 1)
                alpha = alpha[..., None] if alpha.ndim == 2 else alpha
            return np.concatenate([self._run(colour), alpha], axis=2)
        return self._run(img)


def output_path(out_dir, in_path, suffix, ext):
    stem, in_ext = osp.splitext(osp.basename(in_path))
    name = f'{stem}_{suffix}' if suffix else stem
    return osp.join(out_dir, name + (in_ext.lower() if ext == 'same' else '.' + ext))


def write_image(img, path, max_value):
    """Quantise and write atomically (temporary name in the same folder, then rename)."""
    dtype = np.uint8 if max_value == 255 else np.uint16
    data = np.round(np.clip(img, 0, 1) * max_value).astype(dtype)
    if data.shape[2] == 1:
        data = data[..., 0]
    stem, ext = osp.splitext(path)
    tmp = f'{stem}.partial{ext}'
    if not cv2.imwrite(tmp, data):
        raise OSError(f'{path}: OpenCV could not write the image.')
    os.replace(tmp, path)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('-i', '--input', required=True, help='an image or a folder of images')
    parser.add_argument('-o', '--output', required=True, help='output folder (created)')
    parser.add_argument('--model_path', help='generator checkpoint (net_g_*.pth); not with --arch Bicubic')
    parser.add_argument('--arch', choices=GENERATOR_ARCHS, help='default: recognised from the checkpoint keys')
    parser.add_argument('--tile', type=int, default=0, help='LR tile side in pixels; 0 = whole image (default)')
    parser.add_argument('--tile_pad', type=int, default=10, help='LR context pixels around each tile (default 10)')
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument('--fp16', action='store_true', help='float16 autocast (CUDA only)')
    precision.add_argument('--bf16', action='store_true', help='bfloat16 autocast (CPU, or CUDA with bf16)')
    parser.add_argument('--alpha_upsampler', choices=('bicubic', 'model'), default='bicubic',
                        help='how an alpha channel is upscaled (default: MATLAB bicubic)')
    parser.add_argument('--suffix', default='x4', help="output name: <name>_<suffix>.png; '' for <name>.png")
    parser.add_argument('--ext', choices=('png', 'same'), default='png', help="output format (default png)")
    parser.add_argument('--overwrite', action='store_true', help='replace existing outputs')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    return parser.parse_args(argv)


def amp_dtype_for(args):
    """The autocast dtype asked for, checked against the device; raises ValueError when unsupported."""
    device = torch.device(args.device)
    if args.fp16:
        if device.type != 'cuda':
            raise ValueError('--fp16 needs a CUDA device (float16 convolutions are not supported well on the CPU); '
                             'use --bf16 on the CPU.')
        return torch.float16
    if args.bf16:
        if device.type == 'cuda' and not torch.cuda.is_bf16_supported():
            raise ValueError(f'--bf16: {torch.cuda.get_device_name(device)} does not support bfloat16; use --fp16.')
        return torch.bfloat16
    return None


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.model_path is None and args.arch != 'Bicubic':
            raise ValueError('give --model_path G.pth (a generator checkpoint), or --arch Bicubic for the baseline.')
        if args.tile < 0 or args.tile_pad < 0:
            raise ValueError('--tile and --tile_pad must be >= 0.')
        amp_dtype = amp_dtype_for(args)
        inputs = list_inputs(args.input)
        net, opt = load_generator(args.model_path, args.arch)
    except (ValueError, FileNotFoundError) as err:  # NotAGeneratorError and InputError are ValueErrors
        print(f'error: {err}', file=sys.stderr)
        return 2
    jobs = [(path, output_path(args.output, path, args.suffix, args.ext)) for path in inputs]
    clashes = [out for path, out in jobs if osp.abspath(out) == osp.abspath(path)]
    existing = [out for _, out in jobs if osp.exists(out)]
    if clashes or (existing and not args.overwrite):
        what = (f'would overwrite its input {clashes[0]} (set --suffix or another --output)' if clashes else
                f'{len(existing)} output(s) exist already, e.g. {existing[0]} (use --overwrite to replace them)')
        print(f'error: {what}; nothing written.', file=sys.stderr)
        return 2
    os.makedirs(args.output, exist_ok=True)
    upscaler = Upscaler(net, opt, args.device, args.tile, args.tile_pad, amp_dtype, args.alpha_upsampler)
    print(f'{opt["type"]} ×{upscaler.scale} on {args.device}'
          f'{" (" + str(amp_dtype).split(".")[-1] + " autocast)" if amp_dtype else ""}'
          f'{f", tiles {args.tile} + {args.tile_pad}" if args.tile else ""}: {len(jobs)} image(s) → {args.output}')
    failures, total = [], 0.
    for path, out in tqdm(jobs, unit='image', file=sys.stdout, disable=len(jobs) < 2):
        try:
            img, max_value = read_image(path)
            if img.shape[2] == 4 and args.ext == 'same' and not out.lower().endswith(('.png', '.tif', '.tiff')):
                raise InputError(f'{path}: has an alpha channel that {osp.splitext(out)[1]} cannot store; '
                                 'use --ext png.')
            with Timer(args.device) as timer:
                sr = upscaler(img)
            write_image(sr, out, max_value)
        except (InputError, OSError, RuntimeError) as err:
            failures.append(str(err))
            tqdm.write(f'error: {err}', file=sys.stderr)
            continue
        total += timer.seconds
        tqdm.write(f'{osp.basename(path)}: {img.shape[1]}×{img.shape[0]} → {sr.shape[1]}×{sr.shape[0]} in '
                   f'{timer.seconds:.3f} s → {out}', file=sys.stdout)
    done = len(jobs) - len(failures)
    print(f'{done} image(s) in {total:.2f} s ({total / max(done, 1):.3f} s per image)'
          + (f'; {len(failures)} failed:\n  ' + '\n  '.join(failures) if failures else ''))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
