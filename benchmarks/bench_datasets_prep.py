"""Throughput of the DIV2K preparation steps with 1 and 2 workers: sub-image extraction, bicubic LR, LMDB creation.

    python benchmarks/bench_datasets_prep.py                      # 6 DIV2K-sized images, workers 1 and 2
    python benchmarks/bench_datasets_prep.py --images 12 --workers 1 2 4 --machine my-box

Builds DIV2K-sized (2040x1356) PNGs from scikit-image's photographs (upscaled, with light noise so they compress
like real photographs) in a temporary folder, runs the same functions the scripts run (``extract_into``,
``generate_into``, ``write_lmdb``) with the default recipe (480x480 every 240, x4, PNG level 3 files, level 1
LMDB), prints a Markdown table and writes it to ``benchmarks/results/datasets_prep_<machine>.md``.
images/s counts the step's inputs (HR images for extraction, sub-images for the other two); MB/s is bytes written
per wall-clock second; CPU s (this process and its workers) shows the cost when other processes share the CPUs.
"""
import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from skimage import data  # noqa: E402

import fasrgan_basicsr  # noqa: E402,F401  (import BasicSR before timing anything)
from fasrgan_basicsr.datasets_prep.create_lmdb import write_lmdb  # noqa: E402
from fasrgan_basicsr.datasets_prep.extract_subimages import extract_into  # noqa: E402
from fasrgan_basicsr.datasets_prep.generate_bicubic_lr import generate_into  # noqa: E402
from fasrgan_basicsr.datasets_prep.images import list_images, scan_images  # noqa: E402

DIV2K_SIZE = (1356, 2040)  # height, width of most DIV2K training images
PHOTOS = (data.astronaut, data.coffee, data.chelsea, data.rocket, data.retina, data.hubble_deep_field,
          data.immunohistochemistry)


def make_div2k_like(folder, count, seed=0):
    """``count`` 2040x1356 PNGs (level 3) from scikit-image photographs; returns the total bytes."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for index in range(count):
        photo = PHOTOS[index % len(PHOTOS)]()[:, :, ::-1]
        big = cv2.resize(photo, DIV2K_SIZE[::-1], interpolation=cv2.INTER_CUBIC).astype(np.float32)
        noisy = np.clip(big + rng.normal(0, 3, big.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / f'{index + 1:04d}.png'), noisy, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    return sum(p.stat().st_size for p in folder.iterdir())


def folder_bytes(folder):
    return sum(p.stat().st_size for p in Path(folder).iterdir() if p.is_file() and not p.name.startswith('.'))


def cpu_seconds():
    """User + system CPU time of this process and its finished children (the pool workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def machine_busy_seconds():
    """CPU-seconds all processes on the machine have used (Linux /proc/stat; 0 elsewhere)."""
    try:
        ticks = [int(v) for v in Path('/proc/stat').read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks[:8]) - idle) / os.sysconf('SC_CLK_TCK')


def timed(step, workers, inputs, run, output):
    """Run ``run()``, return one table row.

    CPU s is this process and its workers; "others" is the CPU time other processes took meanwhile (when it is
    close to the wall time, another process held a whole CPU and the workers could not all run).
    """
    started, cpu_started, busy_started = time.perf_counter(), cpu_seconds(), machine_busy_seconds()
    outputs = run()
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    others = max(0.0, machine_busy_seconds() - busy_started - cpu)
    written = folder_bytes(output)
    return {'step': step, 'workers': workers, 'inputs': inputs, 'outputs': outputs, 'seconds': seconds,
            'cpu': cpu, 'others': others, 'images_per_s': inputs / seconds, 'mb_per_s': written / 1e6 / seconds,
            'mb': written / 1e6}


def bench(work, images, workers_list):
    hr_dir = work / 'HR'
    hr_bytes = make_div2k_like(hr_dir, images)
    hr_infos = scan_images(list_images(hr_dir))
    rows = []
    for workers in workers_list:
        sub = work / f'sub_w{workers}'
        sub.mkdir()
        rows.append(timed('extract sub-images (480/240)', workers, len(hr_infos),
                          lambda: sum(r['subimages'] for r in extract_into(hr_infos, sub, 480, 240, 0, 3, workers)),
                          sub))
        sub_infos = scan_images(list_images(sub))
        lr = work / f'lr_w{workers}'
        lr.mkdir()
        rows.append(timed('bicubic x4 LR (MATLAB imresize)', workers, len(sub_infos),
                          lambda: len(generate_into(sub_infos, lr, 4, '{}', 3, workers)), lr))
        db = work / f'hr_w{workers}.lmdb'
        rows.append(timed('create LMDB (HR sub-images)', workers, len(sub_infos),
                          lambda: write_lmdb(sub_infos, db, 1, workers) and len(sub_infos), db))
    return hr_bytes, rows


def cpu_model():
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown CPU'


def report(images, hr_bytes, rows, command, load):
    lines = [
        '# datasets_prep throughput',
        '',
        f'- machine: {cpu_model()}, {os.cpu_count()} CPUs visible, {platform.system()} {platform.machine()}',
        f'- Python {platform.python_version()}, OpenCV {cv2.__version__}, NumPy {np.__version__}',
        f'- input: {images} DIV2K-sized PNGs (2040x1356, {hr_bytes / 1e6 / images:.1f} MB each; real DIV2K '
        'averages about 4.4 MB) made from scikit-image photographs',
        f'- command: `{command}`',
        f'- load average (1 min) before/after: {load[0]:.2f} / {load[1]:.2f} (other processes share the CPUs when '
        'this is well above 0)',
        '',
        '| step | workers | inputs | outputs | wall s | CPU s | others\' CPU s | images/s | MB/s written |',
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ]
    for r in rows:
        lines.append(f"| {r['step']} | {r['workers']} | {r['inputs']} | {r['outputs']} | {r['seconds']:.2f} | "
                     f"{r['cpu']:.2f} | {r['others']:.2f} | {r['images_per_s']:.2f} | {r['mb_per_s']:.1f} |")
    contended = [r for r in rows if r['others'] > 0.5 * r['seconds']]
    if contended:
        lines += ['', f"Caveat: in {len(contended)} of {len(rows)} rows other processes used more than half a CPU "
                  "(others' CPU s > wall s / 2), so those rows understate what the workers can do on idle CPUs; "
                  'CPU s per input is the contention-free cost.']
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--images', type=int, default=6, help='DIV2K-sized images to make (default: 6)')
    parser.add_argument('--workers', type=int, nargs='+', default=[1, 2], help='worker counts (default: 1 2)')
    parser.add_argument('--machine', default=f'{platform.machine()}-{os.cpu_count()}cpu',
                        help='name in the results file (default: %(default)s)')
    parser.add_argument('--no-save', action='store_true', help='print only')
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix='bench_datasets_prep_') as work:
        hr_bytes, rows = bench(Path(work), args.images, args.workers)
    command = 'python benchmarks/bench_datasets_prep.py ' + ' '.join(argv if argv is not None else sys.argv[1:])
    text = report(args.images, hr_bytes, rows, command.strip(), (load_before, os.getloadavg()[0]))
    print(text)
    if not args.no_save:
        path = ROOT / 'benchmarks' / 'results' / f'datasets_prep_{args.machine}.md'
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f'wrote {path}')


if __name__ == '__main__':
    main()
