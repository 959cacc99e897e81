"""What every preparation step shares: the error type, messages, worker pools, summaries and common arguments."""
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from fasrgan_basicsr.utils.cli import positive_int
from fasrgan_basicsr.utils.errors import UserError


class PrepError(UserError):
    """A problem with the user's input, options or disk, reported as one clear message without a traceback."""


def problems_error(headline, problems):
    """A PrepError for a list of problems: ``headline: problem`` on one line when there is one, else the headline
    followed by one indented line per problem."""
    if len(problems) == 1:
        return PrepError(f'{headline}: {problems[0]}')
    return PrepError(f'{headline}:\n  ' + '\n  '.join(problems))


def info(message):
    """Print a progress message to stdout."""
    print(message, flush=True)


def warn(message):
    """Print a warning (something was changed or skipped, the run goes on) to stderr."""
    print(f'warning: {message}', file=sys.stderr, flush=True)


def name_list(names, limit=10):
    """``a.png, b.png, ... (+3 more)`` for messages."""
    names = [str(n) for n in names]
    shown = ', '.join(names[:limit])
    return shown + (f' (+{len(names) - limit} more)' if len(names) > limit else '')


def human_bytes(num_bytes):
    """``12.3 MB`` (decimal units)."""
    for unit in ('B', 'kB', 'MB', 'GB', 'TB'):
        if abs(num_bytes) < 1000 or unit == 'TB':
            return f'{num_bytes:.0f} {unit}' if unit == 'B' else f'{num_bytes:.1f} {unit}'
        num_bytes /= 1000


def tree_bytes(path):
    """Bytes in the files of a folder tree (or of one file)."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob('*') if p.is_file())


@dataclass
class Summary:
    """Counts and timing of one run, printed at its end."""

    title: str
    images: int = 0
    unit: str = 'images'
    subimages: int = 0
    bytes_written: int = 0
    notes: list = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    finished: float = None

    def finish(self):
        self.finished = time.perf_counter()
        return self

    @property
    def seconds(self):
        return (self.finished or time.perf_counter()) - self.started

    def text(self):
        seconds = max(self.seconds, 1e-9)
        parts = [f'{self.images} {self.unit}']
        if self.subimages:
            parts.append(f'{self.subimages} sub-images')
        line = (f'{self.title}: ' + ', '.join(parts) + f', {human_bytes(self.bytes_written)} written '
                f'in {self.seconds:.1f} s ({self.images / seconds:.1f} {self.unit}/s, '
                f'{self.bytes_written / 1e6 / seconds:.1f} MB/s)')
        return '\n'.join([line] + [f'  {note}' for note in self.notes])


def _init_worker():
    """Keep each worker process single-threaded: the pool is the parallelism.

    Only torch's thread count is set, and first: in a child forked from a parent whose OpenMP threads already ran
    (BasicSR's imresize), torch's own OpenMP regions hang unless it is limited to one thread, and so does calling
    ``cv2.setNumThreads`` before it (both seen on Linux with torch 2.x and opencv-python 4.x).
    """
    if 'torch' in sys.modules:
        sys.modules['torch'].set_num_threads(1)


def _context(func):
    """Where the pool's workers come from: on Linux a fork server, a fresh single-threaded interpreter that has
    imported the task's module once (its workers fork from it at once), never forks of this process — a fork of a
    process whose other threads (OpenMP, torch, a logging handler) hold a lock deadlocks at random (seen: a pool that
    never joined). Elsewhere fresh interpreters (``spawn``; fork is unsafe on macOS)."""
    if not sys.platform.startswith('linux'):
        return multiprocessing.get_context('spawn')
    context = multiprocessing.get_context('forkserver')
    module = getattr(getattr(func, 'func', func), '__module__', None)
    context.set_forkserver_preload([m for m in (__name__, module) if m])  # read when the server starts (once)
    return context


def parallel_map(func, tasks, workers, desc, unit='image'):
    """Yield ``func(task)`` for every task, in order, computed by ``workers`` processes, with a progress bar.

    ``workers == 1`` runs in this process (no pool). Exceptions from a task propagate to the caller.
    """
    tasks = list(tasks)
    bar = tqdm(total=len(tasks), desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True)
    try:
        if workers <= 1 or len(tasks) <= 1:
            for task in tasks:
                yield func(task)
                bar.update(1)
            return
        with _context(func).Pool(min(workers, len(tasks)), initializer=_init_worker) as pool:
            for result in pool.imap(func, tasks):
                yield result
                bar.update(1)
    finally:
        bar.close()


def default_workers():
    """Half the CPUs (at least 1): image decoding/encoding is CPU-bound and leaves room for I/O."""
    return max(1, (os.cpu_count() or 2) // 2)


def add_common_args(parser, output_help, input_help='input folder of images'):
    """``--input``, ``--output``, ``--workers`` and ``--overwrite``, spelled the same in every script."""
    parser.add_argument('--input', required=True, metavar='DIR', help=input_help)
    parser.add_argument('--output', required=True, metavar='PATH', help=output_help)
    add_run_args(parser)


def add_run_args(parser):
    """``--workers`` and ``--overwrite``."""
    parser.add_argument('--workers', type=positive_int, default=default_workers(),
                        help='worker processes (default: %(default)s, half the CPUs)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace outputs that already exist (the new output is built aside and swapped in '
                        'only when complete)')


#: what a preparation command prints on Ctrl-C (its staged outputs make the rerun resume or restart cleanly)
INTERRUPTED = 'interrupted: rerun the same command to resume (or restart) cleanly'
