"""Crop every image of a folder into overlapping square sub-images (BasicSR's recipe: 480x480 every 240 pixels).

    fasrgan-extract-subimages --input datasets/DIV2K/DIV2K_train_HR \\
        --output datasets/DIV2K/DIV2K_train_HR_sub --crop-size 480 --step 240

Crops start every ``--step`` pixels; where more than ``--thresh-size`` pixels would be left uncovered at the bottom
or right, one more crop flush with that edge is added (with the default 0 every pixel is covered and every
sub-image has the full size). Sub-image k (row-major, from 1) of ``0001.png`` is ``0001_s00k.png``. Images smaller
than the crop are skipped and reported. The output is built in ``<output>.partial`` and resumes after an
interruption.

``python -m fasrgan_basicsr.cli.extract_subimages`` and, in a clone,
``python datasets_prep/extract_subimages.py`` are the same command.
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import sys

from fasrgan_basicsr.datasets_prep.common import INTERRUPTED, add_common_args, info
from fasrgan_basicsr.datasets_prep.extract_subimages import extract_folder
from fasrgan_basicsr.utils.cli import ArgumentParser, entry_point, non_negative_int, positive_int


def build_parser():
    parser = ArgumentParser(description=__doc__)
    add_common_args(parser, output_help='output folder of sub-images (must not exist unless --overwrite)')
    parser.add_argument('--crop-size', type=positive_int, default=480, help='sub-image side (default: 480)')
    parser.add_argument('--step', type=positive_int, default=240, help='distance between crops (default: 240)')
    parser.add_argument('--thresh-size', type=non_negative_int, default=0,
                        help='add a crop flush with the edge when more than this many pixels are left (default: 0)')
    parser.add_argument('--compress-level', type=int, choices=range(10), default=3, metavar='0-9',
                        help='PNG compression of the sub-images (default: 3, as BasicSR)')
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    summary = extract_folder(args.input, args.output, args.crop_size, args.step, args.thresh_size,
                             args.compress_level, args.workers, args.overwrite)
    info(f'wrote {args.output}')
    info(summary.text())



run = entry_point(main, interrupted=INTERRUPTED)

if __name__ == '__main__':
    sys.exit(run())
