"""Make low-resolution images with MATLAB's bicubic ``imresize`` (BasicSR's port, antialiased), not OpenCV's.

    fasrgan-generate-bicubic-lr --input HR_DIR --output LR_DIR --scale 4
    fasrgan-generate-bicubic-lr --input Set5/HR --output Set5/LR_bicubic/X4 --scale 4 \\
        --filename-tmpl '{}x4'

Each HR image is first mod-cropped (bottom/right) to a multiple of the scale, so every LR image is exactly 1/scale
of its cropped HR image; cropped images are reported. The LR file of ``baby.png`` is ``<tmpl>.format('baby') +
'.png'``: ``baby.png`` with the default ``'{}'`` (pairs with BasicSR's ``filename_tmpl: '{}'``), ``babyx4.png`` with
``'{}x4'``. The output is built in ``<output>.partial`` and resumes after an interruption.

``python -m fasrgan_basicsr.cli.generate_bicubic_lr`` and, in a clone,
``python datasets_prep/generate_bicubic_lr.py`` are the same command.
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import sys

from fasrgan_basicsr.datasets_prep.common import INTERRUPTED, add_common_args, info
from fasrgan_basicsr.datasets_prep.generate_bicubic_lr import SCALES, generate_folder
from fasrgan_basicsr.utils.cli import ArgumentParser, entry_point


def build_parser():
    parser = ArgumentParser(description=__doc__)
    add_common_args(parser, input_help='folder of HR images', output_help='output folder of LR images')
    parser.add_argument('--scale', type=int, choices=SCALES, default=4, help='downscaling factor (default: 4)')
    parser.add_argument('--filename-tmpl', default='{}',
                        help="LR file name (without .png) from the HR name: '{}' keeps it, '{}x4' adds x4 "
                        "(default: '{}')")
    parser.add_argument('--compress-level', type=int, choices=range(10), default=3, metavar='0-9',
                        help='PNG compression (default: 3)')
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    summary = generate_folder(args.input, args.output, args.scale, args.filename_tmpl, args.compress_level,
                              args.workers, args.overwrite)
    info(f'wrote {args.output}')
    info(summary.text())



run = entry_point(main, interrupted=INTERRUPTED)

if __name__ == '__main__':
    sys.exit(run())
