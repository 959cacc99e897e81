"""RealSR (V3) real camera LR/HR pairs to BasicSR test folders and training LMDBs. Never bicubic.

    fasrgan-prepare-realsr --input "datasets/RealSR(V3)" --output datasets/RealSR_V3

Input: the extracted RealSR (V3) archive (Cai et al., ICCV 2019, github.com/csjcai/RealSR):

    RealSR(V3)/<Camera>/<Train|Test>/<scale>/<Camera>_<id>_HR.png     Canon and Nikon, scales 2, 3, 4
    RealSR(V3)/<Camera>/<Train|Test>/<scale>/<Camera>_<id>_LR<scale>.png

Output (``--scale 4``):

    test/HR/Canon_001.png + test/LR_x4/Canon_001.png   the test pairs as shipped (filename_tmpl: '{}')
    train_HR_sub.lmdb + train_LR_x4_sub.lmdb           train sub-images: GT 480 every 240, LR 120 every 60

LR sizes. V3 ships each LR at 1/scale of its HR (V1 and V2 shipped them at the HR size). A pair is kept as
shipped when the LR is 1/scale of the HR; where the sides differ by less than a pixel after division (an HR side
that is not a multiple of the scale) the HR is cropped at the bottom/right to exactly scale x LR and the LR by at
most one pixel; both are reported. An LR stored at its HR's size (a V1/V2 "pre-upsampled" LR) cannot feed a x4
network: ``--same-size-lr downscale`` (the default) shrinks it by 1/scale with MATLAB's bicubic -- the real
degradation stays, resampled -- and reports every such pair; ``--same-size-lr error`` refuses instead. Any other
size mismatch is an error naming the pair. Train sub-images are cut at the same places in HR and LR (LR crop =
crop/scale), so GT and LR keys (``Canon_001_s001``) pair at exactly x scale.

``python -m fasrgan_basicsr.cli.prepare_realsr`` and, in a clone,
``python datasets_prep/prepare_realsr.py`` are the same command.
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import sys

from fasrgan_basicsr.datasets_prep.common import INTERRUPTED, add_run_args, info
from fasrgan_basicsr.datasets_prep.prepare_realsr import SPLITS, prepare_realsr
from fasrgan_basicsr.utils.cli import ArgumentParser, entry_point, positive_int


def build_parser():
    parser = ArgumentParser(description=__doc__)
    parser.add_argument('--input', default='datasets/RealSR(V3)', metavar='DIR',
                        help='the extracted RealSR(V3) folder (default: %(default)s)')
    parser.add_argument('--output', default='datasets/RealSR_V3', metavar='PATH',
                        help='output folder (default: %(default)s)')
    parser.add_argument('--scale', type=int, choices=(2, 3, 4), default=4, help='which pairs (default: 4)')
    parser.add_argument('--splits', nargs='+', choices=tuple(SPLITS), default=['train', 'test'],
                        help='what to prepare (default: train test)')
    parser.add_argument('--same-size-lr', choices=('downscale', 'error'), default='downscale',
                        help='an LR stored at its HR size: shrink it by MATLAB bicubic (default) or refuse')
    parser.add_argument('--crop-size', type=positive_int, default=480, help='GT sub-image side (default: 480)')
    parser.add_argument('--step', type=positive_int, default=240, help='GT distance between crops (default: 240)')
    parser.add_argument('--keep-folders', action='store_true', help='also keep the PNG train sub-image folders')
    add_run_args(parser)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    summary = prepare_realsr(args.input, args.output, args.scale, args.splits, args.same_size_lr, args.crop_size,
                             args.step, args.workers, args.overwrite, args.keep_folders)
    info(summary.text())



run = entry_point(main, interrupted=INTERRUPTED)

if __name__ == '__main__':
    sys.exit(run())
