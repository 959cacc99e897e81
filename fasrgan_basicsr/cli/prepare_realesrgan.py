"""HR images only to what BasicSR's ``RealESRGANDataset`` reads (Real-ESRGAN's recipe), in one command.

    fasrgan-prepare-realesrgan --multiscale --lmdb   # DIV2K_train_HR -> datasets/DIV2K_realesrgan

reads ``--input`` (default ``datasets/DIV2K/DIV2K_train_HR``; any folder of photographs works, no LR is needed:
Real-ESRGAN makes its LR on the fly) and writes into ``--output`` (default ``datasets/DIV2K_realesrgan``), with
``NAME`` = ``--name`` (default: the input folder's name, plus ``_multiscale`` with ``--multiscale``):

    NAME_sub/0001_s001.png ...             sub-images, 400x400 every 200 pixels (--crop-size, --step, --thresh-size)
    meta_info/meta_info_NAME_sub.txt       one line per sub-image, ``NAME_sub/0001_s001.png``, sorted
    NAME_sub.lmdb                          with --lmdb: the same sub-images (keys 0001_s001, its meta_info.txt)
    NAME/0001T0.png ...                    with --multiscale: the downscaled copies the sub-images were cut from

so an option file reads ``dataroot_gt: <output>`` + ``meta_info: <output>/meta_info/meta_info_NAME_sub.txt`` with
``io_backend: {type: disk}``, or ``dataroot_gt: <output>/NAME_sub.lmdb`` with ``io_backend: {type: lmdb}``.

``--multiscale`` adds Real-ESRGAN's multi-scale copies of every image (its ``generate_multiscale_DF2K.py`` rule):
``<stem>T0``, ``T1``, ``T2`` at 0.75, 0.5 and 1/3 of the size (each side ``int(side * factor)``) and ``<stem>T3``
whose shortest side is 400 (the other side ``int(400 * (long / short))``; a square image gives 400x400), all
resized with PIL's Lanczos. The sub-images are cut from the originals and from the copies (Real-ESRGAN's
``DF2K_HR_sub`` + ``DF2K_multiscale_sub``). Two departures, both documented in datasets_prep/README.md: ``T3`` is
made only when it is a downscale (shortest side above 400; Real-ESRGAN would upscale smaller photographs or
duplicate a 400-pixel one), and a copy smaller than ``--crop-size`` on either side is not written (it gives no
sub-image, so the training set is the same).

Intermediate results live in ``<output>/realesrgan_NAME.partial``; rerunning the same command after an
interruption resumes. Outputs appear only when complete and verified; existing ones are refused unless
``--overwrite``.

``python -m fasrgan_basicsr.cli.prepare_realesrgan`` and, in a clone,
``python datasets_prep/prepare_realesrgan.py`` are the same command.
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import sys

from fasrgan_basicsr.datasets_prep.common import INTERRUPTED, add_run_args, info
from fasrgan_basicsr.datasets_prep.prepare_realesrgan import DATASET_PATCH_SIZE, prepare_realesrgan
from fasrgan_basicsr.utils.cli import ArgumentParser, entry_point, non_negative_int, positive_int


def build_parser():
    parser = ArgumentParser(description=__doc__)
    parser.add_argument('--input', default='datasets/DIV2K/DIV2K_train_HR', metavar='DIR',
                        help='folder of HR images (default: %(default)s)')
    parser.add_argument('--output', default='datasets/DIV2K_realesrgan', metavar='PATH',
                        help='the dataroot_gt folder that receives the outputs (default: %(default)s)')
    parser.add_argument('--name', metavar='NAME',
                        help='base name of the outputs (default: the input folder name, plus _multiscale with '
                        '--multiscale)')
    parser.add_argument('--multiscale', action='store_true',
                        help="also cut sub-images from Real-ESRGAN's multi-scale copies (0.75, 0.5, 1/3, shortest "
                        'side 400)')
    parser.add_argument('--lmdb', action='store_true', help='also pack the sub-images into NAME_sub.lmdb')
    parser.add_argument('--crop-size', type=positive_int, default=DATASET_PATCH_SIZE,
                        help='sub-image side (default: 400, the size RealESRGANDataset crops or pads to)')
    parser.add_argument('--step', type=positive_int, default=200, help='distance between crops (default: 200)')
    parser.add_argument('--thresh-size', type=non_negative_int, default=0,
                        help='add a crop flush with the edge when more than this many pixels are left (default: 0)')
    parser.add_argument('--compress-level', type=int, choices=range(10), default=3, metavar='0-9',
                        help='PNG compression of the copies and sub-images (default: 3, as BasicSR)')
    add_run_args(parser)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    summary = prepare_realesrgan(args.input, args.output, args.name, args.multiscale, args.lmdb, args.crop_size,
                                 args.step, args.thresh_size, args.compress_level, args.workers, args.overwrite)
    info(summary.text())



run = entry_point(main, interrupted=INTERRUPTED)

if __name__ == '__main__':
    sys.exit(run())
