"""Outputs that appear complete or not at all.

Every output is built at a sibling ``<name>.partial`` path (``<stem>.partial.lmdb`` for LMDBs) and renamed into
place only when it is complete and verified. An existing output is refused unless ``--overwrite``; with it the old
output is moved aside and deleted only after the new one is in place, so a failed run never damages it.

Folder steps record each finished input in ``.prep_done.jsonl`` next to their ``.prep_params.json``: rerunning the
same command after an interruption resumes where it stopped; different settings restart from scratch.

Multi-output runs (``prepare_*.py``) build everything in a :class:`Workspace` and then publish it in one phase: once
the first output has been moved into place, a rerun of the same command finishes the moves instead of refusing the
outputs the interrupted run already published.
"""
import json
import os
import shutil
import sys
from pathlib import Path

from fasrgan_basicsr.utils.locks import lock_folder, release_folder

from .common import PrepError, info, parallel_map, warn

PARAMS_FILE = '.prep_params.json'
DONE_FILE = '.prep_done.jsonl'
#: written into a workspace before its first output is moved into place.
PUBLISHING_FILE = '.prep_publishing'


def partial_path(final):
    """Where ``final`` is built: ``X.partial.lmdb`` for ``X.lmdb`` (BasicSR wants the suffix), else ``X.partial``."""
    final = Path(final)
    if final.suffix == '.lmdb':
        return final.with_name(final.stem + '.partial.lmdb')
    return final.with_name(final.name + '.partial')


def _identity(path):
    """``(device, inode)`` of an existing path (symlinks followed), else None."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _identities_from(path):
    """The identities of ``path`` (symlinks resolved) and of every existing folder above it."""
    resolved = Path(os.path.abspath(path)).resolve()
    return [i for i in map(_identity, (resolved, *resolved.parents)) if i is not None]


def check_output_path(option, path):
    """PrepError unless ``path`` names something (not ``''``, ``.``, ``..`` or ``/``) whose existing parents are
    folders."""
    if Path(os.path.normpath(path)).name in ('', '.', '..'):
        raise PrepError(f'{option} {str(path)!r} does not name a file or folder to write')
    encoding = sys.getfilesystemencoding()
    try:
        os.path.abspath(path).encode(encoding)
    except UnicodeEncodeError:  # os's calls take it (surrogateescape); LMDB's C library does not
        raise PrepError(f'{option} {str(path)!r}: holds characters this system\'s file names cannot encode '
                        f'({encoding}; the locale is not UTF-8), which the LMDB library refuses; use a UTF-8 locale '
                        '(LANG=C.UTF-8) or another path') from None
    parent = Path(os.path.abspath(path)).parent
    while not (parent.exists() or parent.is_symlink()):
        parent = parent.parent
    if not parent.is_dir():
        raise PrepError(f'{option} {path} cannot be written: {parent} is a file, not a folder')


def staged_outputs(option, final):
    """``[(option, final), (option, <final>.partial)]``: what a single-output step writes (for refuse_overlap)."""
    check_output_path(option, final)
    return [(option, Path(final)), (option, partial_path(final))]


def refuse_overlap(outputs, inputs):
    """PrepError if an output is, contains or lies inside an input, whatever ``--overwrite`` says.

    ``outputs`` and ``inputs`` are ``(option, path)`` pairs; every path a run writes (final outputs, ``.partial``
    paths, workspaces) belongs in ``outputs``. Paths are compared by device and inode after resolving symlinks, so a
    symlinked input, a case-insensitive file system or a bind mount cannot hide an overlap. The message names both
    options. An output must also name something (not ``''``, ``.``, ``..`` or ``/``) and must not be or contain the
    current folder, which ``--overwrite`` would move away.
    """
    cwd_chain = _identities_from(os.getcwd())
    for out_option, out_path in outputs:
        check_output_path(out_option, out_path)
        out_id = _identity(out_path)
        if out_id is not None and out_id in cwd_chain:
            raise PrepError(f'{out_option} {out_path} is or contains the current folder {os.getcwd()}; choose an '
                            'output elsewhere (nothing was written)')
    for in_option, in_path in inputs:
        in_id = _identity(in_path)
        if in_id is None:
            continue  # a missing input is reported by the step that reads it
        in_chain = _identities_from(in_path)
        for out_option, out_path in outputs:
            out_id = _identity(out_path)
            if out_id == in_id:
                relation = 'is the same folder as'
            elif in_id in _identities_from(out_path):
                relation = 'lies inside'
            elif out_id is not None and out_id in in_chain:
                relation = 'contains'
            else:
                continue
            raise PrepError(f'{out_option} {out_path} {relation} {in_option} {in_path}: an output must lie outside '
                            'every input, so that no input can be overwritten or deleted (nothing was written)')


def refuse_existing(final, overwrite, is_file=False):
    """PrepError if ``final`` exists and ``overwrite`` is not set, or if it exists and is not an earlier output that
    ``--overwrite`` may replace: a file (or a broken link) where a folder goes, a folder without ``data.mdb`` where an
    LMDB goes, a folder where a file output (``is_file``: a meta-info list) goes. Such paths are never replaced."""
    final = Path(final)
    if not (final.exists() or final.is_symlink()):
        return
    if is_file:
        if final.is_dir():
            raise PrepError(f'output {final} exists and is a folder; it was left untouched (this output is a file; '
                            'choose another path)')
    elif not final.is_dir():
        raise PrepError(f'output {final} exists and is not a folder; it was left untouched (an output is a folder'
                        f'{" ending in .lmdb" if final.suffix == ".lmdb" else ""}; choose another path)')
    if final.suffix == '.lmdb' and not (final / 'data.mdb').is_file():
        raise PrepError(f'output {final} is a folder but not an LMDB (no data.mdb); it was left untouched, even with '
                        '--overwrite (choose another path)')
    if not overwrite:
        raise PrepError(f'output {final} already exists; pass --overwrite to replace it (it was left untouched)')


def remove_path(path):
    """Delete a file or a folder tree if it exists."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def move_into_place(built, final):
    """Rename ``built`` to ``final``; an existing ``final`` is moved aside first and deleted after the swap."""
    built, final = Path(built), Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    aside = None
    if final.exists() or final.is_symlink():
        aside = final.with_name(f'{final.name}.replaced-{os.getpid()}')
        os.rename(final, aside)
    try:
        os.rename(built, final)
    except OSError:
        if aside is not None:
            os.rename(aside, final)
        raise
    if aside is not None:
        remove_path(aside)


def _read_params(folder):
    try:
        return json.loads((Path(folder) / PARAMS_FILE).read_text())
    except (OSError, ValueError):
        return None


def _as_stored(params):
    """``params`` as they read back from ``.prep_params.json`` (tuples become lists), for comparisons."""
    return json.loads(json.dumps(params, sort_keys=True))


def open_partial(path, params):
    """Create (or, for a resumable run with the same ``params``, reuse) the folder ``path``; return True if reused.

    ``params=None`` means the step cannot resume: any leftover is removed and the caller creates ``path`` itself.
    """
    path = Path(path)
    if path.exists() or path.is_symlink():
        if params is not None and _read_params(path) == _as_stored(params):
            info(f'resuming the interrupted run kept in {path}')
            return True
        why = 'made with other settings' if params is not None and path.is_dir() else 'left by an interrupted run'
        warn(f'removing {path} ({why}) and starting again')
        remove_path(path)
    if params is not None:
        path.mkdir(parents=True)
        (path / PARAMS_FILE).write_text(json.dumps(params, sort_keys=True))
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    return False


class DoneLog:
    """One JSON line per finished input in ``<folder>/.prep_done.jsonl``; a torn last line is ignored."""

    def __init__(self, folder):
        self.path = Path(folder) / DONE_FILE

    def load(self):
        records = {}
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                records[record['name']] = record
        return records

    def append(self, record):
        with open(self.path, 'a') as handle:
            handle.write(json.dumps(record, sort_keys=True) + '\n')


def strip_bookkeeping(folder):
    """Remove the resume files (and the ``.<name>.verified`` markers of its LMDBs) from a finished folder."""
    for path in [Path(folder) / PARAMS_FILE, Path(folder) / DONE_FILE, *Path(folder).glob('.*.verified')]:
        path.unlink(missing_ok=True)


class StagedOutput:
    """Context manager for one output: refuses an existing one, builds at ``partial``, ``commit()`` swaps it in.

    With ``params`` the partial folder is kept on failure (a rerun resumes); without, it is removed.
    """

    def __init__(self, final, overwrite, params=None, create=True):
        self.final = Path(final)
        self.partial = partial_path(final)
        self.overwrite = overwrite
        self.params = params
        self.create = create
        self.committed = False
        self.resumed = False

    def __enter__(self):
        refuse_existing(self.final, self.overwrite)
        lock_folder(self.final, 'preparation step')  # a second step writing it is refused while this one lives
        self.resumed = open_partial(self.partial, self.params)
        if self.params is None and self.create:
            self.partial.mkdir()
        return self

    def commit(self):
        if self.partial.is_dir():
            strip_bookkeeping(self.partial)
        move_into_place(self.partial, self.final)
        self.committed = True

    def __exit__(self, exc_type, exc, tb):
        try:
            self._clean_up(exc_type)
        finally:
            release_folder(self.final)
        return False

    def _clean_up(self, exc_type):
        if exc_type is None or self.committed:
            return
        if self.params is not None and self.partial.exists():
            warn(f'the incomplete output is kept in {self.partial}; rerun the same command to resume')
        elif self.partial.exists() or self.partial.is_symlink():
            try:
                remove_path(self.partial)
                warn(f'the incomplete output {self.partial} was removed')
            except OSError:
                warn(f'could not remove the incomplete output {self.partial}; delete it by hand')
        if self.final.exists():
            warn(f'the existing output {self.final} was not changed')


def run_resumable(folder, tasks, worker, workers, desc, name_of=None):
    """Apply ``worker(task) -> record`` to every task not yet recorded in ``folder``'s done log; return all records.

    A task's name is ``name_of(task)`` (default: the file name of a path task); each record is a dict whose
    ``name`` is that name. Records are appended to the log as soon as a task finishes, so an interrupted run loses
    at most the tasks in flight.
    """
    name_of = name_of or (lambda task: Path(task).name)
    log = DoneLog(folder)
    done = log.load()
    pending = [t for t in tasks if name_of(t) not in done]
    if len(pending) < len(tasks):
        info(f'{len(tasks) - len(pending)} of {len(tasks)} inputs were already done; processing the other '
             f'{len(pending)}')
    for record in parallel_map(worker, pending, workers, desc):
        log.append(record)
        done[record['name']] = record
    return [done[name_of(t)] for t in tasks]


class Workspace:
    """A folder for the intermediate results and outputs of a multi-output run (``prepare_*.py``).

    Reused when the same command is rerun with the same ``params`` (the run resumes), wiped otherwise; kept on
    failure. :meth:`publish` moves the outputs built in it into place and removes it.
    """

    def __init__(self, path, params):
        self.path = Path(path)
        self.params = params
        self.resumed = False

    def __enter__(self):
        lock_folder(self.path, 'preparation step')  # a second step of the same outputs is refused while this lives
        self.resumed = open_partial(self.path, self.params)
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and self.path.exists():
            warn(f'intermediate results are kept in {self.path}; rerun the same command to resume '
                 '(or delete that folder to start over)')
        release_folder(self.path)
        return False

    @property
    def publishing(self):
        """True when an interrupted run had built and verified everything and begun moving it into place."""
        return (self.path / PUBLISHING_FILE).exists()

    def publish(self, finals, overwrite):
        """Move every output ``{name in the workspace: final path}`` into place, then remove the workspace.

        Call it only when every output is built and verified: from then on a rerun skips the building and moves
        what is left (see :func:`published_by_interrupted_run`).
        """
        (self.path / PUBLISHING_FILE).touch()
        for name, final in finals.items():
            built, final = self.path / name, Path(final)
            if not (built.exists() or built.is_symlink()):
                if final.exists():
                    continue  # moved into place by the interrupted run
                raise PrepError(f'{final} was moved into place by an interrupted run and is gone now; delete '
                                f'{self.path} and rerun to build it again')
            refuse_existing(final, overwrite, is_file=built.is_file())
            if built.is_dir():
                strip_bookkeeping(built)
            move_into_place(built, final)
            info(f'wrote {final}')
        self.remove()

    def remove(self):
        remove_path(self.path)


def published_by_interrupted_run(workspace, params, finals):
    """The names in ``finals`` (``{name: final path}``) that an interrupted run of the same command (same
    ``params``) had already moved into place: they exist but are not "existing outputs" to refuse."""
    workspace = Path(workspace)
    if not (workspace / PUBLISHING_FILE).exists() or _read_params(workspace) != _as_stored(params):
        return set()
    return {name for name, final in finals.items() if not (workspace / name).exists() and Path(final).exists()}
