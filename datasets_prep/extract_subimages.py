"""Crop every image of a folder into overlapping square sub-images (BasicSR's recipe: 480x480 every 240 pixels).

    python datasets_prep/extract_subimages.py --input datasets/DIV2K/DIV2K_train_HR \\
        --output datasets/DIV2K/DIV2K_train_HR_sub --crop-size 480 --step 240

Crops start every ``--step`` pixels; where more than ``--thresh-size`` pixels would be left uncovered at the bottom
or right, one more crop flush with that edge is added (with the default 0 every pixel is covered and every
sub-image has the full size). Sub-image k (row-major, from 1) of ``0001.png`` is ``0001_s00k.png``. Images smaller
than the crop are skipped and reported. The output is built in ``<output>.partial`` and resumes after an
interruption.
"""
import argparse
import functools
import sys
from pathlib import Path

if __package__ in (None, ''):  # run as `python datasets_prep/<script>.py`: make `datasets_prep` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datasets_prep.common import (  # noqa: E402
    ArgumentParser,
    PrepError,
    Summary,
    add_common_args,
    info,
    name_list,
    non_negative_int,
    positive_int,
    run_cli,
    warn,
)
from datasets_prep.images import (  # noqa: E402
    list_images,
    read_image,
    refuse_name_clashes,
    report_colour_conversions,
    scan_images,
    write_png,
)
from datasets_prep.staging import StagedOutput, refuse_overlap, run_resumable, staged_outputs  # noqa: E402


def subimage_starts(length, crop_size, step, thresh_size):
    """Start coordinates of the crops along one side of ``length`` pixels (empty if the side is too short)."""
    if length < crop_size:
        return []
    starts = list(range(0, length - crop_size + 1, step))
    if length - (starts[-1] + crop_size) > thresh_size:
        starts.append(length - crop_size)
    return starts


def subimage_name(stem, index):
    """``0001_s001``: the file name (without extension) and LMDB key of sub-image ``index`` (from 1)."""
    return f'{stem}_s{index:03d}'


def count_subimages(height, width, crop_size, step, thresh_size):
    """How many sub-images an image of this size gives."""
    return len(subimage_starts(height, crop_size, step, thresh_size)) * len(
        subimage_starts(width, crop_size, step, thresh_size))


def extract_one(path, out_dir, crop_size, step, thresh_size, compress_level):
    """Write the sub-images of one image into ``out_dir``; return its done-log record."""
    img = read_image(path)
    height, width = img.shape[:2]
    index, written = 0, 0
    for top in subimage_starts(height, crop_size, step, thresh_size):
        for left in subimage_starts(width, crop_size, step, thresh_size):
            index += 1
            crop = img[top:top + crop_size, left:left + crop_size]
            written += write_png(Path(out_dir) / f'{subimage_name(Path(path).stem, index)}.png', crop, compress_level)
    return {'name': Path(path).name, 'subimages': index, 'bytes': written}


def usable_inputs(infos, crop_size):
    """The images at least ``crop_size`` on both sides, checked before anything is written: PrepError if names clash
    or none is large enough; the smaller ones are skipped with a warning."""
    refuse_name_clashes([i.path for i in infos])
    usable = [i for i in infos if i.height >= crop_size and i.width >= crop_size]
    too_small = [f'{i.name} ({i.width}x{i.height})' for i in infos if i.height < crop_size or i.width < crop_size]
    if not usable:
        raise PrepError(f'every input image is smaller than --crop-size {crop_size}: {name_list(too_small)}')
    if too_small:
        warn(f'skipped {len(too_small)} image(s) smaller than the {crop_size}x{crop_size} crop: '
             f'{name_list(too_small)}')
    return usable


def extract_into(usable, out_dir, crop_size, step, thresh_size, compress_level, workers, desc='extract sub-images'):
    """Extract the sub-images of ``usable`` (from :func:`usable_inputs`) into the folder ``out_dir``, resuming from
    its done log; return the records."""
    worker = functools.partial(extract_one, out_dir=str(out_dir), crop_size=crop_size, step=step,
                               thresh_size=thresh_size, compress_level=compress_level)
    records = run_resumable(out_dir, [i.path for i in usable], worker, workers, desc)
    expected = sum(count_subimages(i.height, i.width, crop_size, step, thresh_size) for i in usable)
    found = sum(1 for p in Path(out_dir).iterdir() if p.suffix == '.png')
    if found != expected or sum(r['subimages'] for r in records) != expected:
        raise PrepError(f'{out_dir} holds {found} sub-images, expected {expected}; rerun with --overwrite')
    return records


def extract_folder(input_dir, output, crop_size=480, step=240, thresh_size=0, compress_level=3, workers=1,
                   overwrite=False):
    """The whole step: check the inputs, extract into ``<output>.partial``, verify and move into place."""
    summary = Summary('extract_subimages')
    refuse_overlap(staged_outputs('--output', output), [('--input', input_dir)])
    infos = scan_images(list_images(input_dir))
    summary.notes += report_colour_conversions(infos)
    usable = usable_inputs(infos, crop_size)
    params = {'step': 'extract_subimages', 'inputs': [[i.name, i.path.stat().st_size] for i in infos],
              'crop_size': crop_size, 'step_size': step, 'thresh_size': thresh_size, 'compress_level': compress_level}
    with StagedOutput(output, overwrite, params=params) as staged:
        records = extract_into(usable, staged.partial, crop_size, step, thresh_size, compress_level, workers)
        staged.commit()
    summary.images = len(records)
    summary.subimages = sum(r['subimages'] for r in records)
    summary.bytes_written = sum(r['bytes'] for r in records)
    return summary.finish()


def build_parser():
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    return summary


if __name__ == '__main__':
    sys.exit(run_cli(main))
