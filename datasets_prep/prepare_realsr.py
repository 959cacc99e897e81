"""RealSR (V3) real camera LR/HR pairs to BasicSR test folders and training LMDBs. Never bicubic.

    python datasets_prep/prepare_realsr.py --input "datasets/RealSR(V3)" --output datasets/RealSR_V3

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
"""
import argparse
import functools
import re
import sys
from pathlib import Path

if __package__ in (None, ''):  # run as `python datasets_prep/<script>.py`: make `datasets_prep` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datasets_prep.common import (  # noqa: E402
    PrepError,
    Summary,
    add_run_args,
    info,
    name_list,
    parallel_map,
    positive_int,
    run_cli,
    warn,
)
from datasets_prep.create_lmdb import build_lmdb_in_workspace, verify_pair  # noqa: E402
from datasets_prep.extract_subimages import extract_into, usable_inputs  # noqa: E402
from datasets_prep.generate_bicubic_lr import bicubic_downscale  # noqa: E402
from datasets_prep.images import (  # noqa: E402
    list_images,
    read_image,
    refuse_name_clashes,
    report_colour_conversions,
    scan_images,
    write_png,
)
from datasets_prep.staging import (  # noqa: E402
    StagedOutput,
    Workspace,
    move_into_place,
    refuse_existing,
    refuse_overlap,
    run_resumable,
    strip_bookkeeping,
)

SPLITS = {'train': 'Train', 'test': 'Test'}
TRAIN_WORKSPACE = 'train.partial'


def realsr_outputs(output, scale, splits, keep_folders):
    """``{name: path}`` of everything a run writes into ``output``, its ``.partial`` paths included."""
    output, paths = Path(output), {}
    if 'train' in splits:
        paths = {'train_HR_sub.lmdb': output / 'train_HR_sub.lmdb',
                 f'train_LR_x{scale}_sub.lmdb': output / f'train_LR_x{scale}_sub.lmdb'}
        if keep_folders:
            paths.update({'HR_sub': output / 'train_HR_sub', f'LR_x{scale}_sub': output / f'train_LR_x{scale}_sub'})
        paths[TRAIN_WORKSPACE] = output / TRAIN_WORKSPACE
    if 'test' in splits:
        paths.update({'test': output / 'test', 'test.partial': output / 'test.partial'})
    return paths


def find_pairs(input_dir, split, scale):
    """``[(name, hr_path, lr_path), ...]`` of every camera's ``<split>/<scale>`` folder; PrepError on unpaired files."""
    input_dir = Path(input_dir)
    if not input_dir.is_dir():
        raise PrepError(f'RealSR input folder {input_dir} does not exist')
    folders = sorted(p for p in input_dir.glob(f'*/{SPLITS[split]}/{scale}') if p.is_dir())
    if not folders:
        raise PrepError(f'no <Camera>/{SPLITS[split]}/{scale} folder in {input_dir} (expected the extracted '
                        f'RealSR(V3) folder holding Canon/ and Nikon/)')
    pairs, problems = [], []
    pattern = re.compile(rf'^(?P<id>.+)_(?P<kind>HR|LR{scale})$', re.IGNORECASE)
    for folder in folders:
        camera = folder.parents[1].name
        found = {}
        for path in list_images(folder, role=f'RealSR {split}'):
            match = pattern.match(path.stem)
            if match:
                kinds = found.setdefault(match['id'], {})
                kind = match['kind'].upper()
                if kind in kinds:
                    problems.append(f'{folder / match["id"]}: two {kind} files, {kinds[kind].name} and {path.name}')
                kinds[kind] = path
        for pair_id, kinds in sorted(found.items()):
            if set(kinds) != {'HR', f'LR{scale}'}:
                problems.append(f'{folder / pair_id}: only {"/".join(sorted(kinds))} found')
                continue
            name = pair_id if pair_id.lower().startswith(camera.lower() + '_') else f'{camera}_{pair_id}'
            pairs.append((name, kinds['HR'], kinds[f'LR{scale}']))
        if not found:
            problems.append(f'{folder}: no *_HR / *_LR{scale} images')
    if problems:
        raise PrepError(f'RealSR {split} pairs are incomplete or ambiguous:\n  ' + '\n  '.join(problems))
    name_of_hr = {hr: name for name, hr, _ in pairs}
    refuse_name_clashes(list(name_of_hr), role=f'RealSR {split}', name_of=name_of_hr.__getitem__)
    return pairs


def plan_pair(hr_size, lr_size, scale, same_size_lr):
    """How to make one pair exact: ``(action, (lr_h, lr_w))`` with action ``keep`` or ``downscale``, or a reason str.

    ``keep``: crop LR to ``(lr_h, lr_w)`` and HR to ``scale`` times that. ``downscale``: the LR has the HR's size;
    shrink it (and the mod-cropped HR stays) by MATLAB bicubic.
    """
    (hr_h, hr_w), (lr_h, lr_w) = hr_size, lr_size
    if (lr_h, lr_w) == (hr_h, hr_w):
        if same_size_lr == 'error':
            return f'LR has the HR size {hr_w}x{hr_h} (pre-upsampled); rerun with --same-size-lr downscale'
        return 'downscale', (hr_h // scale, hr_w // scale)
    if abs(lr_h * scale - hr_h) < scale and abs(lr_w * scale - hr_w) < scale:
        return 'keep', (min(lr_h, hr_h // scale), min(lr_w, hr_w // scale))
    return f'LR {lr_w}x{lr_h} is neither 1/{scale} of HR {hr_w}x{hr_h} nor the same size'


def write_pair(task, hr_dir, lr_dir, scale, compress_level):
    """Write one exact pair as ``<hr_dir>/<name>.png`` + ``<lr_dir>/<name>.png``; return its done-log record.

    ``task`` is ``(name, hr_path, lr_path, action, (lr_h, lr_w))`` from :func:`plan_split`.
    """
    name, hr_path, lr_path, action, (lr_h, lr_w) = task
    hr = read_image(hr_path)[:lr_h * scale, :lr_w * scale]
    lr = bicubic_downscale(read_image(lr_path), scale) if action == 'downscale' else read_image(lr_path)
    lr = lr[:lr_h, :lr_w]
    written = write_png(Path(hr_dir) / f'{name}.png', hr, compress_level)
    written += write_png(Path(lr_dir) / f'{name}.png', lr, compress_level)
    return {'name': name, 'bytes': written, 'action': action}


def plan_split(input_dir, split, scale, same_size_lr):
    """Find and check every pair of a split before anything is written; return the tasks and summary notes."""
    pairs = find_pairs(input_dir, split, scale)
    hr_infos = scan_images([hr for _, hr, _ in pairs], role=f'RealSR {split} HR')
    lr_infos = scan_images([lr for _, _, lr in pairs], role=f'RealSR {split} LR')
    notes = report_colour_conversions(hr_infos + lr_infos)
    tasks, problems, downscaled, cropped = [], [], [], []
    for (name, hr_path, lr_path), hr, lr in zip(pairs, hr_infos, lr_infos):
        plan = plan_pair((hr.height, hr.width), (lr.height, lr.width), scale, same_size_lr)
        if isinstance(plan, str):
            problems.append(f'{lr_path}: {plan}')
            continue
        action, (lr_h, lr_w) = plan
        if action == 'downscale':
            downscaled.append(name)
        elif (lr_h * scale, lr_w * scale) != (hr.height, hr.width) or (lr_h, lr_w) != (lr.height, lr.width):
            cropped.append(f'{name} (HR {hr.width}x{hr.height} -> {lr_w * scale}x{lr_h * scale})')
        tasks.append((name, str(hr_path), str(lr_path), action, (lr_h, lr_w)))
    if problems:
        raise PrepError(f'{len(problems)} RealSR {split} pair(s) cannot be used:\n  ' + '\n  '.join(problems))
    size_notes = []
    if downscaled:
        size_notes.append(f'{split}: {len(downscaled)} LR image(s) had their HR size (pre-upsampled); downscaled '
                          f'by 1/{scale} with MATLAB bicubic: {name_list(downscaled)}')
    if cropped:
        size_notes.append(f'{split}: {len(cropped)} pair(s) cropped to exactly x{scale}: {name_list(cropped)}')
    for note in size_notes:
        warn(note)
    return tasks, notes + size_notes


def write_pairs(tasks, hr_dir, lr_dir, scale, compress_level, workers, desc, resume_folder=None):
    """Write every pair task (resuming from ``resume_folder``'s done log when given); return the records."""
    import datasets_prep.basicsr_bridge  # noqa: F401  (bicubic for same-size LR: import once, not per worker)

    hr_dir.mkdir(parents=True, exist_ok=True)
    lr_dir.mkdir(parents=True, exist_ok=True)
    worker = functools.partial(write_pair, hr_dir=str(hr_dir), lr_dir=str(lr_dir), scale=scale,
                               compress_level=compress_level)
    if resume_folder is None:
        return list(parallel_map(worker, tasks, workers, desc, unit='pair'))
    return run_resumable(resume_folder, tasks, worker, workers, desc, name_of=lambda task: task[0])


def prepare_test(input_dir, output, scale, same_size_lr, workers, overwrite, compress_level=3):
    """``<output>/test/HR`` + ``<output>/test/LR_x<scale>``; returns (pairs, bytes, notes)."""
    tasks, notes = plan_split(input_dir, 'test', scale, same_size_lr)
    with StagedOutput(Path(output) / 'test', overwrite) as staged:
        records = write_pairs(tasks, staged.partial / 'HR', staged.partial / f'LR_x{scale}', scale, compress_level,
                              workers, 'RealSR test pairs')
        staged.commit()
    info(f'wrote {Path(output) / "test"}')
    return len(records), sum(r['bytes'] for r in records), notes


def prepare_train(input_dir, output, scale, same_size_lr, crop_size, step, workers, overwrite, keep_folders,
                  compress_level=3):
    """Train pairs -> aligned sub-images -> ``train_HR_sub.lmdb`` + ``train_LR_x<scale>_sub.lmdb``."""
    if crop_size % scale or step % scale:
        raise PrepError(f'--crop-size {crop_size} and --step {step} must be multiples of --scale {scale}')
    output = Path(output)
    names = {n: final for n, final in realsr_outputs(output, scale, ['train'], keep_folders).items()
             if n != TRAIN_WORKSPACE}
    for final in names.values():
        refuse_existing(final, overwrite)
    tasks, notes = plan_split(input_dir, 'train', scale, same_size_lr)
    params = {'step': 'prepare_realsr_train', 'pairs': [list(t[:4]) for t in tasks], 'scale': scale,
              'crop_size': crop_size, 'step_size': step, 'compress_level': compress_level}
    with Workspace(output / TRAIN_WORKSPACE, params) as workspace:
        ws = workspace.path
        write_pairs(tasks, ws / 'pairs_HR', ws / f'pairs_LR_x{scale}', scale, compress_level, workers,
                    'RealSR train pairs', resume_folder=ws)
        subs = {}
        for kind, crop, stride in (('HR', crop_size, step), (f'LR_x{scale}', crop_size // scale, step // scale)):
            folder = ws / f'{kind}_sub'
            folder.mkdir(exist_ok=True)
            pairs = usable_inputs(scan_images(list_images(ws / f'pairs_{kind}')), crop)
            extract_into(pairs, folder, crop, stride, 0, compress_level, workers, desc=f'{kind} sub-images')
            subs[kind] = scan_images(list_images(folder))
            build_lmdb_in_workspace(ws, f'train_{kind}_sub.lmdb', subs[kind], workers=workers)
        verify_pair(ws / 'train_HR_sub.lmdb', ws / f'train_LR_x{scale}_sub.lmdb', scale)
        for name, final in names.items():
            refuse_existing(final, overwrite)
            if (ws / name).is_dir():
                strip_bookkeeping(ws / name)
            move_into_place(ws / name, final)
            info(f'wrote {final}')
        workspace.remove()
    stored = sum((output / n / 'data.mdb').stat().st_size for n in names if n.endswith('.lmdb'))
    return len(tasks), len(subs['HR']), stored, notes


def prepare_realsr(input_dir='datasets/RealSR(V3)', output='datasets/RealSR_V3', scale=4, splits=('train', 'test'),
                   same_size_lr='downscale', crop_size=480, step=240, workers=1, overwrite=False, keep_folders=False):
    """Both splits; returns the Summary."""
    summary = Summary('prepare_realsr', unit='pairs')
    refuse_overlap([('--output', path) for path in realsr_outputs(output, scale, splits, keep_folders).values()],
                   [('--input', input_dir)])
    if 'test' in splits:
        refuse_existing(Path(output) / 'test', overwrite)
    if 'train' in splits:
        pairs, subimages, stored, notes = prepare_train(input_dir, output, scale, same_size_lr, crop_size, step,
                                                        workers, overwrite, keep_folders)
        summary.images += pairs
        summary.subimages += subimages
        summary.bytes_written += stored
        summary.notes += notes + [f'train: {pairs} pairs -> {subimages} sub-image pairs (LMDBs verified)']
    if 'test' in splits:
        pairs, written, notes = prepare_test(input_dir, output, scale, same_size_lr, workers, overwrite)
        summary.images += pairs
        summary.bytes_written += written
        summary.notes += notes + [f'test: {pairs} pairs']
    return summary.finish()


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    return summary


if __name__ == '__main__':
    sys.exit(run_cli(main))
