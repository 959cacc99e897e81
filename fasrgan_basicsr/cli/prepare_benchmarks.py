"""The benchmark test sets to the ``HR/`` + ``LR_bicubic/X4/`` folders the test option files read.

    fasrgan-prepare-benchmarks --input ~/Downloads/benchmarks          # every set found there
    fasrgan-prepare-benchmarks --input ~/Downloads/benchmarks --sets Set5 Set14 --lmdb

Looks in ``--input`` (or takes ``--input`` itself, e.g. ``--input downloads/Set5``) for each set's folder (names
compared case-insensitively; aliases in brackets):
Set5, Set14, BSD100 [B100, BSDS100], Urban100, Manga109, DIV2K_val [DIV2K_valid, or DIV2K's own
``DIV2K_valid_HR/`` + ``DIV2K_valid_LR_bicubic/X4/``], PIRM_val [PIRM_valid, PIRM_self_val], PIRM_test.
Inside a set folder the HR images are in ``HR/`` [GTmod12, GT, Original] or directly in the set folder, and
shipped LR images (optional) in ``LR_bicubic/X4/`` [LRbicx4, LR_bicubic_X4, LR/X4, LR_x4, 4x_downsampled], named
``babyx4.png``, ``baby_x4.png`` or ``baby.png``.

Writes ``--output/<Set>/HR/<img>.png`` (mod-cropped to a multiple of the scale, reported) and
``--output/<Set>/LR_bicubic/X4/<img>x4.png`` (BasicSR's ``filename_tmpl: '{}x4'``): the shipped LR where there is
one (checked to be exactly 1/scale of the HR), MATLAB-bicubic LR (BasicSR's ``imresize``) where there is none or
with ``--regenerate-lr``. ``--lmdb`` adds ``<Set>/HR.lmdb`` and ``<Set>/LR_bicubic_X4.lmdb`` (same keys).

RealSR (V3) is real camera pairs, never bicubic: a ``RealSR(V3)`` [RealSR_V3] folder in ``--input`` is handed to
``prepare_realsr.py`` (output ``--realsr-output``, default ``datasets/RealSR_V3``). Every set is checked before
anything is written, built in ``--output/benchmarks.partial`` and moved into place when all are complete; rerunning
the same command after an interruption resumes. Existing sets are refused unless ``--overwrite``.

``python -m fasrgan_basicsr.cli.prepare_benchmarks`` and, in a clone,
``python datasets_prep/prepare_benchmarks.py`` are the same command.
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import sys

from fasrgan_basicsr.datasets_prep.common import INTERRUPTED, add_run_args, info
from fasrgan_basicsr.datasets_prep.prepare_benchmarks import BENCHMARKS, REALSR, prepare_benchmarks
from fasrgan_basicsr.utils.cli import ArgumentParser, entry_point


def build_parser():
    parser = ArgumentParser(description=__doc__)
    parser.add_argument('--input', required=True, metavar='DIR', help='folder holding the downloaded set folders')
    parser.add_argument('--output', default='datasets/benchmarks', metavar='PATH',
                        help='output folder (default: %(default)s)')
    parser.add_argument('--sets', nargs='+', choices=list(BENCHMARKS) + [REALSR], metavar='SET',
                        help='sets to prepare (default: every set found); one of: '
                        + ', '.join(list(BENCHMARKS) + [REALSR]))
    parser.add_argument('--scale', type=int, choices=(2, 3, 4), default=4, help='LR scale (default: 4)')
    parser.add_argument('--lmdb', action='store_true', help='also write <Set>/HR.lmdb and <Set>/LR_bicubic_X4.lmdb')
    parser.add_argument('--regenerate-lr', action='store_true',
                        help='make every LR from the HR with MATLAB bicubic, ignoring shipped LR images')
    parser.add_argument('--realsr-output', default='datasets/RealSR_V3', metavar='PATH',
                        help='output folder for RealSR (V3) (default: %(default)s)')
    add_run_args(parser)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    summary = prepare_benchmarks(args.input, args.output, args.sets, args.scale, args.lmdb, args.regenerate_lr,
                                 args.workers, args.overwrite, args.realsr_output)
    info(summary.text())



run = entry_point(main, interrupted=INTERRUPTED)

if __name__ == '__main__':
    sys.exit(run())
