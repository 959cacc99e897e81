"""Pack a folder of images into an LMDB that BasicSR reads with ``io_backend: {type: lmdb}``.

    fasrgan-create-lmdb --input datasets/DIV2K/DIV2K_train_HR_sub \\
        --output datasets/DIV2K/DIV2K_train_HR_sub.lmdb

Written with BasicSR's ``LmdbMaker``: the key of ``0001_s001.png`` is ``0001_s001``, the value its PNG bytes
(``--compress-level``, default 1 as BasicSR) and ``meta_info.txt`` has one line per image, ``0001_s001.png
(480,480,3) 1``. Images are stored as 3-channel BGR (grey ones are converted and reported). The LMDB is built at
``<stem>.partial.lmdb``, verified (key count = meta_info lines = input images, sample entries decode to their
recorded shape) and only then renamed to ``--output``; an interrupted run leaves no LMDB at ``--output``.

``python -m fasrgan_basicsr.cli.create_lmdb`` and, in a clone,
``python datasets_prep/create_lmdb.py`` are the same command.
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import sys

from fasrgan_basicsr.datasets_prep.common import INTERRUPTED, add_common_args, info
from fasrgan_basicsr.datasets_prep.create_lmdb import create_lmdb
from fasrgan_basicsr.utils.cli import ArgumentParser, entry_point


def build_parser():
    parser = ArgumentParser(description=__doc__)
    add_common_args(parser, output_help='the LMDB to write (a folder ending in .lmdb)')
    parser.add_argument('--compress-level', type=int, choices=range(10), default=1, metavar='0-9',
                        help='PNG compression of the stored images (default: 1, as BasicSR)')
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    summary = create_lmdb(args.input, args.output, args.compress_level, args.workers, args.overwrite)
    info(f'wrote {args.output}')
    info(summary.text())



run = entry_point(main, interrupted=INTERRUPTED)

if __name__ == '__main__':
    sys.exit(run())
