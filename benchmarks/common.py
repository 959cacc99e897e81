"""Shared pieces of the benchmark scripts: timing, peak memory, child processes, the machine's name, Markdown tables.

Every script measures its baseline in the same process (or the same run of child processes) and
prints ratios against it; nothing here is a pass/fail threshold.

Peak memory: on CUDA, the peak of allocated bytes above what was allocated before (so one process can
measure several configurations one after another); on the CPU, the process's peak resident size (so each
configuration needs its own process).
"""
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import torch
from torchvision.models import vgg19

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / 'benchmarks' / 'results'


def machine_name(device):
    """A short description of the hardware the numbers come from."""
    if device == 'cuda':
        return torch.cuda.get_device_name(0)
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next(line.split(':', 1)[1].strip() for line in f if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    return f'{cpu}, {torch.get_num_threads()} threads'


def machine_slug(device):
    name = machine_name(device).split(',')[0]
    return ''.join(c if c.isalnum() else '-' for c in name).strip('-').lower()[:40] + f'-{device}'


def sync(device):
    if device == 'cuda':
        torch.cuda.synchronize()


def setup_device(device):
    """Settings of a training run on ``device``: BasicSR's train pipeline turns cuDNN's autotuner on (TF32 stays at
    PyTorch's defaults: on for convolutions, off for matrix products)."""
    if device == 'cuda':
        torch.backends.cudnn.benchmark = True


def time_it(fn, device, repeats, warmup):
    """Median, min and max seconds of ``fn()`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return {'median': statistics.median(times), 'min': min(times), 'max': max(times)}


@contextmanager
def peak_memory(device, out):
    """Record the peak memory of the block in ``out['peak_mib']``: on CUDA the peak allocated above what was allocated
    when the block started; on the CPU this process's peak resident size (one configuration per process)."""
    if device == 'cuda':
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    yield
    if device == 'cuda':
        torch.cuda.synchronize()
        out['peak_mib'] = (torch.cuda.max_memory_allocated() - before) / 2**20
    else:  # ru_maxrss is in KiB on Linux
        out['peak_mib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def per_process(device, jobs):
    """How ``jobs`` are split into child processes: all in one on CUDA, one each on the CPU (see peak memory)."""
    return [list(jobs)] if device == 'cuda' else [[job] for job in jobs]


class ChildTimeout(RuntimeError):
    """A child process ran past its time limit (it was killed)."""


def run_child(script, args, timeout=None):
    """Run ``script --child ARGS`` in a fresh process and return the JSON it prints last.

    Raises :class:`ChildTimeout` after ``timeout`` seconds (None: no limit), RuntimeError if the child fails.
    """
    try:
        proc = subprocess.run([sys.executable, str(script), '--child', *args], capture_output=True, text=True,
                              env=dict(os.environ, PYTHONWARNINGS='ignore'), timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ChildTimeout(f'{Path(script).name} --child {" ".join(args)}: no result within {timeout:.0f} s') from None
    if proc.returncode != 0:
        raise RuntimeError(f'{script} --child {" ".join(args)} failed:\n{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fmt_time(t):
    return f'{t["median"] * 1000:.1f} ms ({t["min"] * 1000:.1f}–{t["max"] * 1000:.1f})'


def markdown_table(header, rows):
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
    return '\n'.join(lines)


def write_result(name, device, title, body, folder=None):
    """Write ``<folder>/<name>_<machine>.md`` (default folder ``benchmarks/results``) and return its path."""
    folder = Path(folder) if folder else RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f'{name}_{machine_slug(device)}.md'
    path.write_text(f'# {title}\n\nMachine: {machine_name(device)}; torch {torch.__version__}; '
                    f'{time.strftime("%Y-%m-%d")}.\n\n{body}\n')
    return path


def prepare_stand_in_vgg(torch_home):
    """Random VGG19 weights where torchvision's loader looks, so the perceptual term runs offline."""
    with torch.device('meta'):
        shapes = {k: v.shape for k, v in vgg19().state_dict().items()}
    folder = Path(torch_home) / 'hub' / 'checkpoints'
    folder.mkdir(parents=True)
    torch.save({k: torch.randn(s) * 0.01 for k, s in shapes.items()}, folder / 'vgg19-dcbb9e9d.pth')


def step_function(model):
    """A function running ``model``'s next training step (``optimize_parameters`` with the iteration counted)."""
    state = {'iter': 0}

    def step():
        state['iter'] += 1
        model.optimize_parameters(state['iter'])
    return step


def peak_memory_of_two_steps(model, device):
    """The peak memory (``peak_memory``'s dict) of ``model``'s next two training steps."""
    out = {}
    with peak_memory(device, out):
        step = step_function(model)
        step()
        step()
    return out
