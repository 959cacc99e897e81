"""RealSR (V3) real camera LR/HR pairs to BasicSR test folders and training LMDBs. Never bicubic.

The command is ``fasrgan-prepare-realsr`` (:mod:`fasrgan_basicsr.cli.prepare_realsr`; in a clone also
``python datasets_prep/prepare_realsr.py``), whose ``--help`` says what it writes and how.
"""
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from .common import (
    PrepError,
    Summary,
    name_list,
    problems_error,
    tree_bytes,
    warn,
)
from .create_lmdb import build_lmdb_in_workspace, verify_pair
from .extract_subimages import extract_into
from .generate_bicubic_lr import MIN_LR_SIDE, bicubic_downscale
from .images import (
    list_images,
    read_image,
    refuse_name_clashes,
    report_colour_conversions,
    scan_images,
    write_png,
)
from .staging import (
    Workspace,
    published_by_interrupted_run,
    refuse_existing,
    refuse_overlap,
    run_resumable,
)

SPLITS = {'train': 'Train', 'test': 'Test'}
WORKSPACE = 'realsr.partial'


def realsr_outputs(output, scale, splits, keep_folders):
    """``{name in the workspace: final path}`` of every output a run publishes into ``output``."""
    output, paths = Path(output), {}
    if 'train' in splits:
        paths = {'train_HR_sub.lmdb': output / 'train_HR_sub.lmdb',
                 f'train_LR_x{scale}_sub.lmdb': output / f'train_LR_x{scale}_sub.lmdb'}
        if keep_folders:
            paths.update({'HR_sub': output / 'train_HR_sub', f'LR_x{scale}_sub': output / f'train_LR_x{scale}_sub'})
    if 'test' in splits:
        paths['test'] = output / 'test'
    return paths


def find_pairs(input_dir, split, scale):
    """``[(name, hr_path, lr_path), ...]`` of every camera's ``<split>/<scale>`` folder; PrepError on unpaired files."""
    input_dir = Path(input_dir)
    if not input_dir.is_dir():
        raise PrepError(f'RealSR input folder {input_dir} does not exist')
    try:  # not glob(): it skips unreadable camera folders silently
        cameras = sorted(p for p in input_dir.iterdir() if p.is_dir())
        folders = [c / SPLITS[split] / str(scale) for c in cameras if (c / SPLITS[split] / str(scale)).is_dir()]
    except OSError as exc:
        raise PrepError(f'RealSR input {exc.filename or input_dir} cannot be read: {exc.strerror}') from exc
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
        raise problems_error(f'RealSR {split} pairs are incomplete or ambiguous', problems)
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
        if min(hr_h, hr_w) // scale < MIN_LR_SIDE:
            return (f'LR has the HR size {hr_w}x{hr_h} (pre-upsampled), too small to downscale by 1/{scale} with '
                    f'MATLAB bicubic (sides of at least {MIN_LR_SIDE * scale} pixels needed)')
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
    write_png(Path(hr_dir) / f'{name}.png', hr, compress_level)
    write_png(Path(lr_dir) / f'{name}.png', lr, compress_level)
    return {'name': name}


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
        raise problems_error(f'{len(problems)} RealSR {split} pair(s) cannot be used', problems)
    size_notes = []
    if downscaled:
        size_notes.append(f'{split}: {len(downscaled)} LR image(s) had their HR size (pre-upsampled); downscaled '
                          f'by 1/{scale} with MATLAB bicubic: {name_list(downscaled)}')
    if cropped:
        size_notes.append(f'{split}: {len(cropped)} pair(s) cropped to exactly x{scale}: {name_list(cropped)}')
    for note in size_notes:
        warn(note)
    return tasks, notes + size_notes


def write_pairs(tasks, hr_dir, lr_dir, scale, compress_level, workers, desc, resume_folder):
    """Write every pair task, resuming from ``resume_folder``'s done log; return the records."""
    hr_dir.mkdir(parents=True, exist_ok=True)
    lr_dir.mkdir(parents=True, exist_ok=True)
    worker = functools.partial(write_pair, hr_dir=str(hr_dir), lr_dir=str(lr_dir), scale=scale,
                               compress_level=compress_level)
    return run_resumable(resume_folder, tasks, worker, workers, desc, name_of=lambda task: task[0])


@dataclass
class RealSRPlan:
    """A checked RealSR run: the pair tasks of every split and the outputs to publish; nothing written yet."""

    output: Path
    scale: int
    crop_size: int
    step: int
    compress_level: int
    tasks: dict  # split -> [(name, hr_path, lr_path, action, (lr_h, lr_w)), ...]
    notes: list
    finals: dict  # name in the workspace -> final path
    params: dict

    @property
    def workspace(self):
        return self.output / WORKSPACE


def plan_realsr(input_dir='datasets/RealSR(V3)', output='datasets/RealSR_V3', scale=4, splits=('train', 'test'),
                same_size_lr='downscale', crop_size=480, step=240, overwrite=False, keep_folders=False,
                compress_level=3, output_option='--output'):
    """Check everything (options, every pair, the outputs) before anything is written; return the RealSRPlan."""
    output = Path(output)
    splits = [split for split in SPLITS if split in splits]
    if 'train' in splits and (crop_size % scale or step % scale):
        raise PrepError(f'--crop-size {crop_size} and --step {step} must be multiples of --scale {scale}')
    finals = realsr_outputs(output, scale, splits, keep_folders)
    refuse_overlap([(output_option, path) for path in (*finals.values(), output / WORKSPACE)],
                   [('--input', input_dir)])
    tasks, notes = {}, []
    for split in splits:
        tasks[split], split_notes = plan_split(input_dir, split, scale, same_size_lr)
        notes += split_notes
    if 'train' in tasks:
        tasks['train'] = pairs_large_enough(tasks['train'], scale, crop_size)
    params = {'step': 'prepare_realsr', 'input': str(Path(input_dir).resolve()), 'scale': scale,
              'crop_size': crop_size, 'step_size': step, 'compress_level': compress_level,
              'keep_folders': keep_folders, 'tasks': tasks}
    published = published_by_interrupted_run(output / WORKSPACE, params, finals)
    for name, final in finals.items():
        if name not in published:
            refuse_existing(final, overwrite)
    return RealSRPlan(output, scale, crop_size, step, compress_level, tasks, notes, finals, params)


def pairs_large_enough(tasks, scale, crop_size):
    """The train pairs whose (exact) HR holds at least one ``crop_size`` crop; the others are skipped, reported."""
    usable = [t for t in tasks if min(t[4]) * scale >= crop_size]
    small = [f'{t[0]} ({t[4][1] * scale}x{t[4][0] * scale})' for t in tasks if min(t[4]) * scale < crop_size]
    if not usable:
        raise PrepError(f'every RealSR train pair is smaller than --crop-size {crop_size}: {name_list(small)}')
    if small:
        warn(f'train: skipped {len(small)} pair(s) smaller than the {crop_size}x{crop_size} crop: {name_list(small)}')
    return usable


def build_train(workspace, plan, workers):
    """Train pairs -> sub-images cut at the same places in HR and LR -> ``train_HR_sub.lmdb`` +
    ``train_LR_x<scale>_sub.lmdb`` in ``workspace``, verified as pairs; resumes from what an interrupted run left."""
    scale, ws = plan.scale, Path(workspace)
    write_pairs(plan.tasks['train'], ws / 'pairs_HR', ws / f'pairs_LR_x{scale}', scale, plan.compress_level, workers,
                'RealSR train pairs', resume_folder=ws)
    for kind, crop, stride in (('HR', plan.crop_size, plan.step),
                               (f'LR_x{scale}', plan.crop_size // scale, plan.step // scale)):
        folder = ws / f'{kind}_sub'
        folder.mkdir(exist_ok=True)
        pairs = scan_images(list_images(ws / f'pairs_{kind}'))
        extract_into(pairs, folder, crop, stride, 0, plan.compress_level, workers, desc=f'{kind} sub-images')
        build_lmdb_in_workspace(ws, f'train_{kind}_sub.lmdb', scan_images(list_images(folder)), workers=workers)
    verify_pair(ws / 'train_HR_sub.lmdb', ws / f'train_LR_x{scale}_sub.lmdb', scale)


def run_realsr(plan, workers=1, overwrite=False):
    """Build every output of ``plan`` in its workspace (resuming an interrupted run), publish them; return the
    Summary."""
    summary = Summary('prepare_realsr', unit='pairs')
    summary.notes += plan.notes
    with Workspace(plan.workspace, plan.params) as workspace:
        if not workspace.publishing:
            if 'train' in plan.tasks:
                build_train(workspace.path, plan, workers)
            if 'test' in plan.tasks:
                test = workspace.path / 'test'
                write_pairs(plan.tasks['test'], test / 'HR', test / f'LR_x{plan.scale}', plan.scale,
                            plan.compress_level, workers, 'RealSR test pairs', resume_folder=test)
        workspace.publish(plan.finals, overwrite)
    summary.images = sum(len(tasks) for tasks in plan.tasks.values())
    summary.bytes_written = sum(tree_bytes(final) for final in plan.finals.values())
    if 'train' in plan.tasks:
        summary.subimages = len((plan.finals['train_HR_sub.lmdb'] / 'meta_info.txt').read_text().splitlines())
        summary.notes.append(f'train: {len(plan.tasks["train"])} pairs -> {summary.subimages} sub-image pairs '
                             '(LMDBs verified)')
    if 'test' in plan.tasks:
        summary.notes.append(f'test: {len(plan.tasks["test"])} pairs')
    return summary.finish()


def prepare_realsr(input_dir='datasets/RealSR(V3)', output='datasets/RealSR_V3', scale=4, splits=('train', 'test'),
                   same_size_lr='downscale', crop_size=480, step=240, workers=1, overwrite=False, keep_folders=False):
    """Both splits; returns the Summary."""
    plan = plan_realsr(input_dir, output, scale, splits, same_size_lr, crop_size, step, overwrite, keep_folders)
    return run_realsr(plan, workers, overwrite)
