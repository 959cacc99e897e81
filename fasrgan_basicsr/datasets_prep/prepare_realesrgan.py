"""HR images only to what BasicSR's ``RealESRGANDataset`` reads (Real-ESRGAN's recipe), in one command.

The command is ``fasrgan-prepare-realesrgan`` (:mod:`fasrgan_basicsr.cli.prepare_realesrgan`; in a clone also
``python datasets_prep/prepare_realesrgan.py``), whose ``--help`` says what it writes and how.
"""
import functools
import os
import re
from pathlib import Path

import numpy as np
from PIL import Image

from .common import (
    PrepError,
    Summary,
    name_list,
    tree_bytes,
    warn,
)
from .create_lmdb import build_lmdb_in_workspace, check_free_space, check_keys
from .extract_subimages import count_subimages, extract_into, usable_inputs
from .images import caseless, list_images, read_image, report_colour_conversions, scan_images, write_png
from .staging import (
    Workspace,
    published_by_interrupted_run,
    refuse_existing,
    refuse_overlap,
    run_resumable,
)

#: Real-ESRGAN's multi-scale factors, copies ``T0``, ``T1``, ``T2``.
MULTISCALE_FACTORS = (0.75, 0.5, 1 / 3)
#: the shortest side of the smallest copy, ``T3``.
SHORTEST_SIDE = 400
#: the patch RealESRGANDataset crops (or pads) every GT image to (hard-coded in BasicSR 1.4.2).
DATASET_PATCH_SIZE = 400
META_INFO_DIR = 'meta_info'
_NAME = re.compile(r'^[A-Za-z0-9_+-][A-Za-z0-9_.+-]*$')


# ------------------------------------------------------------------------------------------------- multi-scale copies
def multiscale_sizes(width, height, crop_size):
    """``[(suffix, (width, height)), ...]``: the copies Real-ESRGAN makes of a ``width`` x ``height`` image, in its
    order and with its rounding, less the ``T3`` that would not be a downscale and the copies smaller than
    ``crop_size`` on a side."""
    sizes = [(f'T{k}', (int(width * factor), int(height * factor))) for k, factor in enumerate(MULTISCALE_FACTORS)]
    if min(width, height) > SHORTEST_SIDE:
        if width < height:
            shortest_side_size = (SHORTEST_SIDE, int(SHORTEST_SIDE * (height / width)))
        else:
            shortest_side_size = (int(SHORTEST_SIDE * (width / height)), SHORTEST_SIDE)
        sizes.append((f'T{len(MULTISCALE_FACTORS)}', shortest_side_size))
    return [(suffix, size) for suffix, size in sizes if min(size) >= crop_size]


def copy_stems(stem):
    """Every name a copy of ``stem`` may get: ``stemT0`` ... ``stemT3``."""
    return [f'{stem}T{k}' for k in range(len(MULTISCALE_FACTORS) + 1)]


def lanczos_resize(img, size):
    """``img`` (HxWxC uint8) resized to ``size`` = (width, height) with PIL's Lanczos, as Real-ESRGAN's script does
    (antialiased when downscaling, unlike OpenCV's INTER_LANCZOS4). Each channel is filtered alone, so BGR is fine."""
    return np.asarray(Image.fromarray(np.ascontiguousarray(img)).resize(size, resample=Image.Resampling.LANCZOS))


def write_copies(path, out_dir, crop_size, compress_level):
    """Write the multi-scale copies of one image into ``out_dir``; return its done-log record."""
    img = read_image(path)
    copies, written = [], 0
    for suffix, size in multiscale_sizes(img.shape[1], img.shape[0], crop_size):
        name = f'{Path(path).stem}{suffix}.png'
        written += write_png(Path(out_dir) / name, lanczos_resize(img, size), compress_level)
        copies.append(name)
    return {'name': Path(path).name, 'copies': copies, 'bytes': written}


def refuse_copy_name_clashes(paths):
    """PrepError if an input is named like a copy of another (``aT0.png`` beside ``a.png``), ignoring case."""
    inputs = {caseless(Path(p).stem): Path(p).name for p in paths}
    clashes = [f'{inputs[caseless(copy)]} (the name of a copy of {Path(p).name})'
               for p in paths for copy in copy_stems(Path(p).stem) if caseless(copy) in inputs]
    if clashes:
        raise PrepError(f'with --multiscale the copies of <stem>.png are named <stem>T0.png ... <stem>T3.png; rename '
                        f'the input(s) {name_list(clashes)}')


# ------------------------------------------------------------------------------------------------------------ checks
def default_name(input_dir, multiscale):
    """``DIV2K_train_HR`` (``DIV2K_train_HR_multiscale`` with --multiscale) for ``datasets/DIV2K/DIV2K_train_HR``."""
    return Path(os.path.abspath(input_dir)).name + ('_multiscale' if multiscale else '')


def check_name(name, given):
    """PrepError unless ``name`` can name the output folders and be written in meta_info lines."""
    if not _NAME.match(name) or name.endswith(('.lmdb', '.partial')):
        source = '--name' if given else f'the input folder name {name!r} (used as --name)'
        raise PrepError(f'{source} must be a plain folder name of ASCII letters, digits and _ . + - (no spaces: '
                        f'BasicSR splits meta_info lines at spaces), not starting with a dot; pass another --name')


def check_input_names(paths, lmdb):
    """Names BasicSR's meta_info formats cannot hold: whitespace for the disk list (``RealESRGANDataset`` keeps a
    line up to its first space), and with ``lmdb`` the LMDB key rules (ASCII, no dots: it keys by the text before
    the first dot)."""
    spaced = [Path(p).name for p in paths if any(c.isspace() for c in Path(p).name)]
    if spaced:
        raise PrepError(f'image names must not contain spaces (RealESRGANDataset reads each meta_info line up to its '
                        f'first space); rename: {name_list(spaced)}')
    if lmdb:
        check_keys(paths)


def output_paths(output, name, multiscale, lmdb):
    """``{workspace-relative name: final path}`` of everything this run publishes."""
    output = Path(output)
    finals = {f'{name}_sub': output / f'{name}_sub',
              meta_info_name(name): output / META_INFO_DIR / meta_info_name(name)}
    if lmdb:
        finals[f'{name}_sub.lmdb'] = output / f'{name}_sub.lmdb'
    if multiscale:
        finals[name] = output / name
    return finals


def meta_info_name(name):
    return f'meta_info_{name}_sub.txt'


def disk_needed(infos, multiscale, lmdb, crop_size, step, thresh_size):
    """Rough peak disk use: the copies (their area times the input's bytes per pixel), the sub-image PNGs (the area
    their overlapping crops cover) and as much again for the LMDB."""
    total = 0
    for i in infos:
        bytes_per_pixel = i.path.stat().st_size / (i.height * i.width)
        sizes = [(i.width, i.height)] + [s for _, s in multiscale_sizes(i.width, i.height, crop_size) if multiscale]
        copies = sum(w * h for w, h in sizes[1:]) * bytes_per_pixel
        subimages = sum(count_subimages(h, w, crop_size, step, thresh_size) for w, h in sizes) * crop_size ** 2
        total += copies + subimages * bytes_per_pixel * (2 if lmdb else 1)
    return int(total)


# ------------------------------------------------------------------------------------------------------------- steps
def write_meta_info(path, subimage_dir):
    """``meta_info_<name>_sub.txt``: ``<sub folder>/<file>`` for every sub-image, sorted, as RealESRGANDataset reads
    it with ``io_backend: disk`` (paths relative to ``dataroot_gt``, the folder holding the sub folder)."""
    lines = sorted(f'{subimage_dir.name}/{p.name}' for p in subimage_dir.iterdir() if p.suffix == '.png')
    path.write_text(''.join(f'{line}\n' for line in lines), encoding='utf-8')
    return lines


def verify_meta_info(path, root, expected):
    """Read ``path`` the way RealESRGANDataset does (each line up to its first space, joined to ``root``): every
    entry is a distinct existing file, ``expected`` of them."""
    entries = [line.strip().split(' ')[0] for line in path.read_text(encoding='utf-8').splitlines()]
    missing = [e for e in entries if not (Path(root) / e).is_file()]
    if missing or len(set(entries)) != len(entries) or len(entries) != expected:
        raise PrepError(f'{path} failed verification: {len(entries)} lines ({len(set(entries))} distinct), '
                        f'{expected} sub-images, missing: {name_list(missing) or "-"}; rerun with --overwrite')


def build_workspace(workspace, usable, name, multiscale, lmdb, crop_size, step, thresh_size, compress_level,
                    workers):
    """The copies, the sub-images, the meta_info list and the LMDB in ``workspace``, each resuming what an
    interrupted run left; returns the summary notes."""
    sources, notes = list(usable), []
    if multiscale:
        copy_dir = workspace / name
        copy_dir.mkdir(exist_ok=True)
        worker = functools.partial(write_copies, out_dir=str(copy_dir), crop_size=crop_size,
                                   compress_level=compress_level)
        records = run_resumable(copy_dir, [i.path for i in usable], worker, workers, 'multi-scale copies')
        copies = scan_images([copy_dir / c for r in records for c in r['copies']], role='multi-scale copy')
        sources += copies
        notes.append(f'{len(copies)} multi-scale copies of {len(usable)} images (T0-T3; smaller than '
                     f'{crop_size}x{crop_size} or not a downscale: not made)')
    sub_dir = workspace / f'{name}_sub'
    sub_dir.mkdir(exist_ok=True)
    records = extract_into(sources, sub_dir, crop_size, step, thresh_size, compress_level, workers,
                           desc='sub-images')
    count = sum(r['subimages'] for r in records)
    meta_path = workspace / meta_info_name(name)
    write_meta_info(meta_path, sub_dir)
    verify_meta_info(meta_path, workspace, count)
    if lmdb:
        build_lmdb_in_workspace(workspace, f'{name}_sub.lmdb', scan_images(list_images(sub_dir), role='sub-image'),
                                workers=workers)
    return notes


def prepare_realesrgan(input_dir='datasets/DIV2K/DIV2K_train_HR', output='datasets/DIV2K_realesrgan', name=None,
                       multiscale=False, lmdb=False, crop_size=400, step=200, thresh_size=0, compress_level=3,
                       workers=1, overwrite=False):
    """Check everything, build into a workspace, verify, then move the outputs into place; return the Summary."""
    summary = Summary('prepare_realesrgan')
    given = name is not None
    name = name if given else default_name(input_dir, multiscale)
    check_name(name, given)
    finals = output_paths(output, name, multiscale, lmdb)
    workspace_path = Path(output) / f'realesrgan_{name}.partial'
    refuse_overlap([('--output', path) for path in (*finals.values(), workspace_path)], [('--input', input_dir)])
    infos = scan_images(list_images(input_dir, role='HR'), role='HR')
    check_input_names([i.path for i in infos], lmdb)
    if multiscale:
        refuse_copy_name_clashes([i.path for i in infos])
    summary.notes += report_colour_conversions(infos)
    usable = usable_inputs(infos, crop_size)
    params = {'step': 'prepare_realesrgan', 'inputs': [[i.name, i.path.stat().st_size] for i in infos],
              'name': name, 'multiscale': multiscale, 'lmdb': lmdb, 'crop_size': crop_size, 'step_size': step,
              'thresh_size': thresh_size, 'compress_level': compress_level}
    published = published_by_interrupted_run(workspace_path, params, finals)
    for key, final in finals.items():
        if key not in published:
            refuse_existing(final, overwrite, is_file=(key == meta_info_name(name)))
    if crop_size < DATASET_PATCH_SIZE:
        warn(f'--crop-size {crop_size} is below {DATASET_PATCH_SIZE}: RealESRGANDataset pads every sub-image to '
             f'{DATASET_PATCH_SIZE}x{DATASET_PATCH_SIZE} by reflection')
    if not workspace_path.exists():
        check_free_space(workspace_path, disk_needed(usable, multiscale, lmdb, crop_size, step, thresh_size))
    with Workspace(workspace_path, params) as workspace:
        if not workspace.publishing:
            summary.notes += build_workspace(workspace.path, usable, name, multiscale, lmdb, crop_size, step,
                                             thresh_size, compress_level, workers)
        workspace.publish(finals, overwrite)
    meta_path = finals[meta_info_name(name)]
    summary.images = len(usable)
    summary.subimages = len(meta_path.read_text(encoding='utf-8').splitlines())
    summary.bytes_written = sum(tree_bytes(final) for final in finals.values())
    summary.notes.append(f'RealESRGANDataset, io_backend disk: dataroot_gt: {output}  meta_info: {meta_path}')
    if lmdb:
        summary.notes.append(f'RealESRGANDataset, io_backend lmdb: dataroot_gt: {finals[f"{name}_sub.lmdb"]} '
                             '(LMDB verified)')
    return summary.finish()
