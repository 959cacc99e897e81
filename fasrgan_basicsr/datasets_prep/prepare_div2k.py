"""DIV2K's HR training images to the training LMDBs, in one command.

The command is ``fasrgan-prepare-div2k`` (:mod:`fasrgan_basicsr.cli.prepare_div2k`; in a clone also
``python datasets_prep/prepare_div2k.py``), whose ``--help`` says what it writes and how.
"""
from pathlib import Path

from .common import (
    PrepError,
    Summary,
    tree_bytes,
    warn,
)
from .create_lmdb import build_lmdb_in_workspace, check_free_space, verify_pair
from .extract_subimages import count_subimages, extract_into, usable_inputs
from .generate_bicubic_lr import MIN_LR_SIDE, generate_into
from .images import list_images, report_colour_conversions, scan_images
from .staging import (
    Workspace,
    published_by_interrupted_run,
    refuse_existing,
    refuse_overlap,
)

DIV2K_TRAIN_IMAGES = 800
#: ``--profile``: where the sub-images go and the edge threshold: this project's default, and the authors' release
#: (its ``codes/scripts/extract_subimgs_single.py``: ``crop_sz = 480``, ``step = 240``, ``thresh_sz = 48``)
PROFILES = {'paper': {'output': 'datasets/DIV2K', 'thresh_size': 0},
            'authors_release': {'output': 'datasets/DIV2K_authors_release', 'thresh_size': 48}}


def output_paths(output, scales, keep_folders, name='DIV2K_train'):
    """``{workspace-relative name: final path}`` of everything this run publishes."""
    output = Path(output)
    paths = {f'{name}_HR_sub.lmdb': output / f'{name}_HR_sub.lmdb'}
    for scale in scales:
        paths[f'{name}_LR_bicubic_X{scale}_sub.lmdb'] = output / f'{name}_LR_bicubic_X{scale}_sub.lmdb'
    if keep_folders:
        paths['HR_sub'] = output / f'{name}_HR_sub'
        for scale in scales:
            paths[f'LR_bicubic_X{scale}_sub'] = output / f'{name}_LR_bicubic' / f'X{scale}_sub'
    return paths


def disk_needed(infos, scales, crop_size, step, thresh_size):
    """Rough peak disk use: the sub-image PNGs and their LMDB (each about the input bytes times the area the
    overlapping crops cover), plus 1/scale^2 of that for every LR scale."""
    subimage_bytes = sum(
        i.path.stat().st_size * count_subimages(i.height, i.width, crop_size, step, thresh_size) * crop_size ** 2
        / (i.height * i.width) for i in infos)
    return int(2 * subimage_bytes * (1 + sum(1 / s ** 2 for s in scales)))


def prepare_div2k(input_dir='datasets/DIV2K/DIV2K_train_HR', output='datasets/DIV2K', scales=(4,), crop_size=480,
                  step=240, thresh_size=0, workers=1, overwrite=False, keep_folders=False, compress_level=3):
    """Run the three steps into a workspace, verify, then move the outputs into place; return the Summary."""
    summary = Summary('prepare_div2k')
    scales = sorted(set(scales))
    if crop_size < MIN_LR_SIDE * scales[-1]:
        raise PrepError(f'--crop-size {crop_size} is too small for x{scales[-1]} MATLAB bicubic, which needs at least '
                        f'{MIN_LR_SIDE * scales[-1]} pixels per side')
    odd = [s for s in scales if crop_size % s]
    if odd:
        raise PrepError(f'--crop-size {crop_size} is not a multiple of scale(s) {odd}: every GT sub-image must be '
                        f'exactly scale x its LR sub-image (480 works for 2, 3 and 4)')
    finals = output_paths(output, scales, keep_folders)
    workspace_path = Path(output) / 'DIV2K_train_sub.partial'
    refuse_overlap([('--output', path) for path in (*finals.values(), workspace_path)], [('--input', input_dir)])
    infos = scan_images(list_images(input_dir, role='DIV2K HR'), role='DIV2K HR')
    if len(infos) != DIV2K_TRAIN_IMAGES:
        warn(f'{input_dir} holds {len(infos)} images; DIV2K has {DIV2K_TRAIN_IMAGES} training images')
    summary.notes += report_colour_conversions(infos)
    usable = usable_inputs(infos, crop_size)
    params = {'step': 'prepare_div2k', 'inputs': [[i.name, i.path.stat().st_size] for i in infos],
              'scales': scales, 'crop_size': crop_size, 'step_size': step, 'thresh_size': thresh_size,
              'compress_level': compress_level}
    published = published_by_interrupted_run(workspace_path, params, finals)
    for name, final in finals.items():
        if name not in published:
            refuse_existing(final, overwrite)
    if not workspace_path.exists():
        check_free_space(workspace_path, disk_needed(infos, scales, crop_size, step, thresh_size))
    with Workspace(workspace_path, params) as workspace:
        if not workspace.publishing:
            build_workspace(workspace.path, usable, scales, crop_size, step, thresh_size, compress_level, workers)
        workspace.publish(finals, overwrite)
    summary.images = len(usable)
    summary.subimages = len((finals['DIV2K_train_HR_sub.lmdb'] / 'meta_info.txt').read_text().splitlines())
    summary.bytes_written = sum(tree_bytes(final) for final in finals.values())
    summary.notes.append(f'{summary.subimages} GT sub-images of {crop_size}x{crop_size} paired with LR x'
                         + ', x'.join(str(s) for s in scales) + '; every LMDB verified')
    return summary.finish()


def build_workspace(workspace, usable, scales, crop_size, step, thresh_size, compress_level, workers):
    """The three steps into ``workspace``, each resuming what an interrupted run left; every LR LMDB verified as the
    pair of the GT LMDB."""
    hr_dir = workspace / 'HR_sub'
    hr_dir.mkdir(exist_ok=True)
    extract_into(usable, hr_dir, crop_size, step, thresh_size, compress_level, workers, desc='HR sub-images')
    sub_infos = scan_images(list_images(hr_dir), role='HR sub-image')
    gt_lmdb = build_lmdb_in_workspace(workspace, 'DIV2K_train_HR_sub.lmdb', sub_infos, workers=workers)
    for scale in scales:
        lr_dir = workspace / f'LR_bicubic_X{scale}_sub'
        lr_dir.mkdir(exist_ok=True)
        generate_into(sub_infos, lr_dir, scale, '{}', compress_level, workers, desc=f'LR x{scale} sub-images')
        lr_infos = scan_images([lr_dir / i.name for i in sub_infos], role=f'LR x{scale} sub-image')  # by GT name
        lr_lmdb = build_lmdb_in_workspace(workspace, f'DIV2K_train_LR_bicubic_X{scale}_sub.lmdb', lr_infos,
                                          workers=workers)
        verify_pair(gt_lmdb, lr_lmdb, scale)
