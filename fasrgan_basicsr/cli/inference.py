"""Super-resolve your own images with a trained generator of this project (Real-ESRGAN's command-line conventions).

    fasrgan-infer -i IMG_OR_DIR -o OUT_DIR --model_path G.pth [-s 3.5] [-t 256] [--fp32]
    fasrgan-infer -i IMG_OR_DIR -o OUT_DIR --arch Bicubic          # the baseline

(``python -m fasrgan_basicsr.cli.inference`` is the same command.)

The architecture (RRDBNet, FsRRDBNet, MSRResNet, FsMSRResNet, ReleaseSRResNet) and its sizes are recognised from
the checkpoint's keys (``--arch`` names it instead); ``params_ema`` is used when the checkpoint has it. The authors'
released generators (old ESRGAN key layout) load as they are; their Fs-SRGAN / FA+Fs-SRGAN extractor and generator
files are joined into one first (``fasrgan-join-fs``).
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
import os
import sys
from fractions import Fraction
from os import path as osp

import cv2
import torch
from tqdm import tqdm

from fasrgan_basicsr.generators.devices import amp_dtype_for, resolve_device
from fasrgan_basicsr.generators.image_io import ImageError, output_path, plan_outputs, read_image, write_image
from fasrgan_basicsr.generators.loading import GENERATOR_ARCHS, NotAGeneratorError, load_generator
from fasrgan_basicsr.generators.tiling import Timer
from fasrgan_basicsr.generators.upscaler import Upscaler, is_out_of_memory, out_of_memory_message
from fasrgan_basicsr.utils.cli import ArgumentParser, entry_point
from fasrgan_basicsr.utils.errors import UserError, describe_os_error
from fasrgan_basicsr.utils.image_files import list_image_files


def parse_outscale(text):
    """``-s`` as an exact fraction (``'3.5'`` → 7/2), so that output sizes have no float rounding."""
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f'expected a number > 0, got {text!r}') from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f'expected a number > 0, got {text!r}')
    return value


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__)
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


def main(argv=None):
    args = parse_args(argv)
    if args.model_path is None and args.arch != 'Bicubic':
        raise UserError('give --model_path G.pth (a generator checkpoint), or --arch Bicubic for the baseline.')
    for name in ('tile', 'tile_pad', 'pre_pad'):
        if getattr(args, name) < 0:
            raise UserError(f'--{name} must be >= 0, got {getattr(args, name)}.')
    device = resolve_device(args.device, args.gpu_id)
    amp_dtype = amp_dtype_for(device, args.fp32, args.fp16, args.bf16)
    inputs = list_image_files(args.input)
    try:
        net, opt = load_generator(args.model_path, args.arch)
    except (NotAGeneratorError, FileNotFoundError) as err:
        raise UserError(str(err)) from err
    upscaler = Upscaler(net, opt, device, args.outscale, args.tile, args.tile_pad, args.pre_pad, amp_dtype,
                        'model' if args.alpha_upsampler == 'realesrgan' else args.alpha_upsampler)
    suffix = f'x{float(upscaler.outscale):g}' if args.suffix is None else args.suffix
    jobs = plan_outputs(args.output, inputs, suffix, args.ext, args.overwrite)
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



run = entry_point(main)

if __name__ == '__main__':
    sys.exit(run())
