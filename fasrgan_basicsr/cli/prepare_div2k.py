"""DIV2K's HR training images to the training LMDBs, in one command.

    fasrgan-prepare-div2k                       # x4 only (the paper)
    fasrgan-prepare-div2k --scales 2 3 4        # x2, x3 and x4

reads ``--input`` (default ``datasets/DIV2K/DIV2K_train_HR``, DIV2K's 800 PNGs) and writes into ``--output``
(default ``datasets/DIV2K``) the paths the training option files read:

    DIV2K_train_HR_sub.lmdb                  GT sub-images, 480x480 every 240 pixels (--crop-size, --step)
    DIV2K_train_LR_bicubic_X4_sub.lmdb       their MATLAB-bicubic x4 LR, 120x120 (one LMDB per --scales entry)

The recipe is BasicSR's: crop each HR image into sub-images (``extract_subimages.py``), downscale every HR
sub-image with MATLAB's bicubic (``generate_bicubic_lr.py``, BasicSR's ``imresize``), pack each folder into an
LMDB (``create_lmdb.py``, BasicSR's ``LmdbMaker``). GT and LR LMDBs share their keys (``0001_s001``) and every LR
sub-image is exactly 1/scale of its GT, so BasicSR's ``PairedImageDataset`` pairs them with ``io_backend: lmdb``.
``--profile authors_release`` makes the sub-images as the authors' release did (its
``codes/scripts/extract_subimgs_single.py``: 480 every 240, ``thresh_sz = 48``: an edge strip of at most 48 pixels
gets no crop of its own) into ``datasets/DIV2K_authors_release``, which ``options/authors_release/`` reads; the
default profile (``paper``) keeps a crop flush with every edge (``--thresh-size 0``) in ``datasets/DIV2K``. An
explicit ``--thresh-size`` or ``--output`` wins over the profile's.

``--keep-folders`` also keeps the PNG sub-images (``DIV2K_train_HR_sub/``, ``DIV2K_train_LR_bicubic/X4_sub/``) for
the disk backend.

Intermediate results live in ``<output>/DIV2K_train_sub.partial`` (the full DIV2K needs roughly 30 GB there plus
the LMDBs); rerunning the same command after an interruption resumes. Outputs appear only when complete and
verified; existing ones are refused unless ``--overwrite``.

``python -m fasrgan_basicsr.cli.prepare_div2k`` and, in a clone,
``python datasets_prep/prepare_div2k.py`` are the same command.
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import sys

from fasrgan_basicsr.datasets_prep.common import INTERRUPTED, add_run_args, info
from fasrgan_basicsr.datasets_prep.prepare_div2k import PROFILES, prepare_div2k
from fasrgan_basicsr.utils.cli import ArgumentParser, entry_point, non_negative_int, positive_int


def build_parser():
    parser = ArgumentParser(description=__doc__)
    parser.add_argument('--input', default='datasets/DIV2K/DIV2K_train_HR', metavar='DIR',
                        help='DIV2K HR training images (default: %(default)s)')
    parser.add_argument('--profile', choices=sorted(PROFILES), default='paper',
                        help='paper (default): thresh-size 0 into datasets/DIV2K; authors_release: the release\'s '
                             'thresh-size 48 into datasets/DIV2K_authors_release')
    parser.add_argument('--output', default=None, metavar='PATH',
                        help='folder that receives the LMDBs (default: the profile\'s)')
    parser.add_argument('--scales', type=int, nargs='+', choices=(2, 3, 4), default=[4],
                        help='LR scales to make (default: 4; the paper uses x4)')
    parser.add_argument('--crop-size', type=positive_int, default=480, help='GT sub-image side (default: 480)')
    parser.add_argument('--step', type=positive_int, default=240, help='distance between crops (default: 240)')
    parser.add_argument('--thresh-size', type=non_negative_int, default=None,
                        help='add a crop flush with the edge when more than this many pixels are left (default: the '
                             'profile\'s, 0 or 48)')
    parser.add_argument('--keep-folders', action='store_true',
                        help='also keep the PNG sub-image folders (for io_backend: disk)')
    add_run_args(parser)
    return parser


def parse_args(argv=None):
    """The arguments, with ``--output`` and ``--thresh-size`` taken from ``--profile`` where not given."""
    args = build_parser().parse_args(argv)
    profile = PROFILES[args.profile]
    args.output = profile['output'] if args.output is None else args.output
    args.thresh_size = profile['thresh_size'] if args.thresh_size is None else args.thresh_size
    return args


def main(argv=None):
    args = parse_args(argv)
    summary = prepare_div2k(args.input, args.output, args.scales, args.crop_size, args.step, args.thresh_size,
                            args.workers, args.overwrite, args.keep_folders)
    info(summary.text())



run = entry_point(main, interrupted=INTERRUPTED)

if __name__ == '__main__':
    sys.exit(run())
