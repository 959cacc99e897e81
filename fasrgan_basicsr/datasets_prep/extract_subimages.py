"""Crop every image of a folder into overlapping square sub-images (BasicSR's recipe: 480x480 every 240 pixels).

The command is ``fasrgan-extract-subimages`` (:mod:`fasrgan_basicsr.cli.extract_subimages`; in a clone also
``python datasets_prep/extract_subimages.py``), whose ``--help`` says what it writes and how.
"""
import functools
from pathlib import Path

from .common import (
    PrepError,
    Summary,
    name_list,
    warn,
)
from .images import (
    list_images,
    read_image,
    refuse_name_clashes,
    report_colour_conversions,
    scan_images,
    write_png,
)
from .staging import StagedOutput, refuse_overlap, run_resumable, staged_outputs


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
