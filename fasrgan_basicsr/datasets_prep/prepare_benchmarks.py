"""The benchmark test sets to the ``HR/`` + ``LR_bicubic/X4/`` folders the test option files read.

The command is ``fasrgan-prepare-benchmarks`` (:mod:`fasrgan_basicsr.cli.prepare_benchmarks`; in a clone also
``python datasets_prep/prepare_benchmarks.py``), whose ``--help`` says what it writes and how.
"""
import functools
from pathlib import Path

from .common import (
    PrepError,
    Summary,
    info,
    name_list,
    problems_error,
    tree_bytes,
    warn,
)
from .create_lmdb import (
    build_lmdb_in_workspace,
    check_keys,
    verify_entries_match_files,
    verify_pair,
)
from .generate_bicubic_lr import (
    MIN_LR_SIDE,
    bicubic_downscale,
    report_mod_crops,
    too_small_for_bicubic,
)
from .images import (
    caseless,
    list_images,
    mod_crop,
    read_image,
    refuse_name_clashes,
    report_colour_conversions,
    scan_images,
    write_png,
)
from .prepare_realsr import SPLITS, plan_realsr, realsr_outputs, run_realsr
from .prepare_realsr import WORKSPACE as REALSR_WORKSPACE
from .staging import (
    Workspace,
    published_by_interrupted_run,
    refuse_existing,
    refuse_overlap,
    run_resumable,
)

#: output name -> set folder names accepted in --input.
BENCHMARKS = {
    'Set5': ('Set5',),
    'Set14': ('Set14',),
    'BSD100': ('BSD100', 'B100', 'BSDS100'),
    'Urban100': ('Urban100',),
    'Manga109': ('Manga109',),
    'DIV2K_val': ('DIV2K_val', 'DIV2K_valid'),
    'PIRM_val': ('PIRM_val', 'PIRM_valid', 'PIRM_self_val'),
    'PIRM_test': ('PIRM_test',),
}
REALSR = 'RealSR_V3'
WORKSPACE = 'benchmarks.partial'
REALSR_FOLDERS = ('RealSR(V3)', 'RealSR_V3')
HR_FOLDERS = ('HR', 'GTmod12', 'GT', 'Original')
LR_FOLDERS = ('LR_bicubic/X{s}', 'LRbicx{s}', 'LR_bicubic_X{s}', 'LR/X{s}', 'LR_x{s}', '{s}x_downsampled')
#: how shipped LR files are named after their HR image ``{}``; one naming per folder.
LR_NAME_TEMPLATES = ('{}x{s}', '{}_x{s}', '{}')


def find_child(folder, relative_names):
    """The first existing ``folder/<name>`` (each path part compared case-insensitively), or None; PrepError when
    a part matches several folders (``Set5`` and ``set5``)."""
    for relative in relative_names:
        current = Path(folder)
        for part in relative.split('/'):
            matches = [c for c in current.iterdir() if c.is_dir() and c.name.lower() == part.lower()] \
                if current.is_dir() else []
            if not matches:
                break
            if len(matches) > 1:
                raise PrepError(f'{current} holds several folders named {part!r} ignoring case: '
                                f'{name_list(sorted(m.name for m in matches))}; keep one')
            current = matches[0]
        else:
            return current
    return None


def locate_set(input_dir, name, scale):
    """``(hr_dir, lr_dir or None)`` of benchmark ``name`` in ``input_dir`` (or ``input_dir`` itself), or None."""
    input_dir = Path(input_dir)
    is_the_set = input_dir.name.lower() in {alias.lower() for alias in BENCHMARKS[name]}
    set_dir = input_dir if is_the_set else find_child(input_dir, BENCHMARKS[name])
    if set_dir is None and name == 'DIV2K_val':
        hr_dir = find_child(input_dir, ['DIV2K_valid_HR'])
        if hr_dir is not None:
            return hr_dir, find_child(input_dir, [f'DIV2K_valid_LR_bicubic/X{scale}'])
    if set_dir is None:
        return None
    hr_dir = find_child(set_dir, HR_FOLDERS)
    if hr_dir is None:
        hr_dir = set_dir  # images directly in the set folder
    return hr_dir, find_child(set_dir, [f.format(s=scale) for f in LR_FOLDERS])


def match_shipped_lr(hr_infos, lr_dir, scale):
    """``{hr name: lr ImageInfo}`` for the HR images that have a shipped LR, matched by name; PrepError if a shipped
    LR has the wrong size or the folder's naming is ambiguous.

    A folder uses one naming for all its LR files (``babyx4``, ``baby_x4`` or ``baby``, case ignored): the one that
    matches the most HR names is used, so ``1.png``/``10.png`` or ``a.png``/``ax4.png`` never borrow each other's LR.
    Where two namings match equally many HR images the folder is refused rather than guessed.
    """
    if lr_dir is None:
        return {}
    lr_infos = scan_images(list_images(lr_dir, role='LR'), role='LR')
    refuse_name_clashes([i.path for i in lr_infos], role=f'shipped LR ({lr_dir})')
    lr_by_stem = {caseless(i.path.stem): i for i in lr_infos}
    matches = {}
    for template in LR_NAME_TEMPLATES:
        name_tmpl = template.format('{}', s=scale)
        matches[name_tmpl] = {hr.name: lr_by_stem[caseless(name_tmpl.format(hr.path.stem))] for hr in hr_infos
                              if caseless(name_tmpl.format(hr.path.stem)) in lr_by_stem}
    most = max(len(m) for m in matches.values())
    tied = [t for t, m in matches.items() if len(m) == most]
    if most and len(tied) > 1:
        raise PrepError(f'{lr_dir}: cannot tell how the shipped LR files are named: the namings '
                        f'{" and ".join(repr(t + ".png") for t in tied)} each match {most} HR image(s); rename them '
                        f'consistently or pass --regenerate-lr')
    matched = matches[tied[0]]  # {} when no naming matches
    problems = []
    for hr in hr_infos:
        lr = matched.get(hr.name)
        expected = (hr.height // scale, hr.width // scale)
        if lr is not None and (lr.height, lr.width) != expected:
            problems.append(f'{lr.path}: {lr.width}x{lr.height}, expected {expected[1]}x{expected[0]} (1/{scale} of '
                            f'{hr.name} mod-cropped)')
    if problems:
        raise problems_error('shipped LR images do not match their HR (pass --regenerate-lr to make every LR from the '
                             'HR instead)', problems)
    used = {lr.path for lr in matched.values()}
    unused = [i.name for i in lr_infos if i.path not in used]
    if unused:
        warn(f'{lr_dir}: ignored {len(unused)} LR image(s) without an HR image of the same name: {name_list(unused)}')
    return matched


def lr_file_name(stem, scale):
    """The LR file written for HR ``<stem>.png`` (BasicSR's ``filename_tmpl: '{}x4'``)."""
    return f'{stem}x{scale}.png'


def key_of_lr_file(path, scale):
    """The LMDB key of an LR file: the name of its HR (``babyx4.png`` -> ``baby``), from the file's own name."""
    stem, suffix = Path(path).stem, f'x{scale}'
    if not stem.endswith(suffix):
        raise PrepError(f'{path}: an LR file name must end in {suffix}')
    return stem[:-len(suffix)]


def prepare_image(task, set_dir, scale, compress_level):
    """Write one mod-cropped HR image and its LR (shipped or bicubic), both named after the HR; return its record."""
    hr_path, lr_path = task
    stem = Path(hr_path).stem
    hr = mod_crop(read_image(hr_path), scale)
    lr = read_image(lr_path) if lr_path else bicubic_downscale(hr, scale)
    write_png(Path(set_dir) / 'HR' / f'{stem}.png', hr, compress_level)
    write_png(Path(set_dir) / 'LR_bicubic' / f'X{scale}' / lr_file_name(stem, scale), lr, compress_level)
    return {'name': Path(hr_path).name}


def build_set_lmdbs(set_dir, stems, scale, workers):
    """``HR.lmdb`` + ``LR_bicubic_X<scale>.lmdb`` of a written set, verified pair by pair by name; returns both paths.

    Each entry's key comes from its own file's name (``babyx4.png`` -> ``baby``). Verification decodes every pair
    (GT exactly ``scale`` x LQ) and checks that every entry holds exactly the pixels of the file named for its key.
    """
    set_dir = Path(set_dir)
    hr_file = lambda key: set_dir / 'HR' / f'{key}.png'  # noqa: E731
    lr_file = lambda key: set_dir / 'LR_bicubic' / f'X{scale}' / lr_file_name(key, scale)  # noqa: E731
    hr_lmdb = build_lmdb_in_workspace(set_dir, 'HR.lmdb', scan_images([hr_file(s) for s in stems]), workers=workers)
    lr_lmdb = build_lmdb_in_workspace(set_dir, f'LR_bicubic_X{scale}.lmdb',
                                      scan_images([lr_file(s) for s in stems]), workers=workers,
                                      key_of=functools.partial(key_of_lr_file, scale=scale))
    verify_pair(hr_lmdb, lr_lmdb, scale)
    verify_entries_match_files(hr_lmdb, hr_file)
    verify_entries_match_files(lr_lmdb, lr_file)
    return hr_lmdb, lr_lmdb


def plan_set(name, hr_dir, lr_dir, scale, make_lmdb, regenerate_lr):
    """Check one set before anything is written; return its tasks ``[(hr path, shipped lr path or None), ...]`` and
    summary notes."""
    info(f'{name}: HR from {hr_dir}' + (f', LR from {lr_dir}' if lr_dir and not regenerate_lr else ''))
    hr_infos = scan_images(list_images(hr_dir, role=f'{name} HR'), role=f'{name} HR')
    refuse_name_clashes([i.path for i in hr_infos], role=f'{name} HR')
    if make_lmdb:
        check_keys([i.path for i in hr_infos])
    notes = [f'{name}: {n}' for n in report_colour_conversions(hr_infos)]
    note = report_mod_crops(hr_infos, scale)
    if note:
        notes.append(f'{name}: {note}')
    shipped = {} if regenerate_lr else match_shipped_lr(hr_infos, lr_dir, scale)
    small = too_small_for_bicubic([i for i in hr_infos if i.name not in shipped], scale)
    if small:
        raise PrepError(f'{name} HR image(s) too small to make a x{scale} LR with MATLAB bicubic (sides of at least '
                        f'{MIN_LR_SIDE * scale} pixels needed; or ship their LR): {name_list(small)}')
    tasks = [(str(i.path), str(shipped[i.name].path) if i.name in shipped else None) for i in hr_infos]
    generated = sum(lr is None for _, lr in tasks)
    source = (f'LR generated (bicubic) for all {generated}' if generated == len(tasks) else
              f'LR shipped for {len(tasks) - generated}, generated for {generated}')
    notes.append(f'{name}: {len(tasks)} pairs, {source}' + (', LMDBs verified' if make_lmdb else ''))
    return tasks, notes


def build_set(set_dir, tasks, scale, make_lmdb, workers, compress_level, desc):
    """Write a set's pairs into ``set_dir`` (resuming from its done log) and, with ``make_lmdb``, its verified LMDBs."""
    set_dir = Path(set_dir)
    (set_dir / 'HR').mkdir(parents=True, exist_ok=True)
    (set_dir / 'LR_bicubic' / f'X{scale}').mkdir(parents=True, exist_ok=True)

    worker = functools.partial(prepare_image, set_dir=str(set_dir), scale=scale, compress_level=compress_level)
    run_resumable(set_dir, tasks, worker, workers, desc, name_of=lambda task: Path(task[0]).name)
    if make_lmdb:
        build_set_lmdbs(set_dir, [Path(hr).stem for hr, _ in tasks], scale, workers)


def prepare_benchmarks(input_dir, output='datasets/benchmarks', sets=None, scale=4, make_lmdb=False,
                       regenerate_lr=False, workers=1, overwrite=False, realsr_output='datasets/RealSR_V3',
                       compress_level=3):
    """Every requested (or, by default, every found) set; returns the Summary.

    Every set is checked before anything is written, built in ``<output>/benchmarks.partial`` and moved into place
    when all are complete; rerunning the same command after an interruption resumes.
    """
    summary = Summary('prepare_benchmarks')
    input_dir = Path(input_dir)
    if not input_dir.is_dir():
        raise PrepError(f'input folder {input_dir} does not exist')
    requested = list(sets) if sets else list(BENCHMARKS) + [REALSR]
    try:
        located = {n: locate_set(input_dir, n, scale) for n in requested if n != REALSR}
        realsr_dir = find_child(input_dir, REALSR_FOLDERS) if REALSR in requested else None
    except OSError as exc:
        raise PrepError(f'input folder {exc.filename or input_dir} cannot be read: {exc.strerror}') from exc
    missing = [n for n, where in located.items() if where is None] + (
        [REALSR] if REALSR in requested and realsr_dir is None else [])
    if sets and missing:
        raise PrepError(f'not found in {input_dir}: {", ".join(missing)} (expected a folder per set, '
                        f'e.g. {input_dir}/Set5/HR; see --help for the accepted names)')
    found = {n: where for n, where in located.items() if where is not None}
    if not found and realsr_dir is None:
        raise PrepError(f'no benchmark set found in {input_dir} (expected folders such as Set5/HR; see --help)')

    finals = {name: Path(output) / name for name in found}
    workspace_path = Path(output) / WORKSPACE
    written = [('--output', path) for path in [*finals.values(), workspace_path]]
    if realsr_dir is not None:
        written += [('--realsr-output', path) for path in [
            *realsr_outputs(realsr_output, scale, SPLITS, False).values(), Path(realsr_output) / REALSR_WORKSPACE]]
    read = [('--input', path) for path in [input_dir, realsr_dir, *(p for where in found.values() for p in where)]
            if path is not None]
    refuse_overlap(written, read)
    plans = {name: plan_set(name, hr_dir, lr_dir, scale, make_lmdb, regenerate_lr)
             for name, (hr_dir, lr_dir) in found.items()}
    inputs = {name: [[hr, _size(hr), lr, _size(lr)] for hr, lr in tasks] for name, (tasks, _) in plans.items()}
    params = {'step': 'prepare_benchmarks', 'scale': scale, 'lmdb': make_lmdb, 'compress_level': compress_level,
              'sets': inputs}
    published = published_by_interrupted_run(workspace_path, params, finals)
    for name, final in finals.items():
        if name not in published:
            refuse_existing(final, overwrite)
    realsr_plan = None if realsr_dir is None else plan_realsr(realsr_dir, realsr_output, scale, overwrite=overwrite,
                                                              output_option='--realsr-output')
    if missing:
        summary.notes.append(f'not found in {input_dir} (skipped): {", ".join(missing)}')
    if found:
        with Workspace(workspace_path, params) as workspace:
            if not workspace.publishing:
                for name, (tasks, _) in plans.items():
                    build_set(workspace.path / name, tasks, scale, make_lmdb, workers, compress_level, name)
            workspace.publish(finals, overwrite)
    for tasks, notes in plans.values():
        summary.images += len(tasks)
        summary.notes += notes
    summary.bytes_written = sum(tree_bytes(final) for final in finals.values())
    if realsr_plan is not None:
        realsr = run_realsr(realsr_plan, workers, overwrite)
        summary.images += realsr.images
        summary.subimages += realsr.subimages
        summary.bytes_written += realsr.bytes_written
        summary.notes += [f'{REALSR}: {n}' for n in realsr.notes]
    return summary.finish()


def _size(path):
    return None if path is None else Path(path).stat().st_size
