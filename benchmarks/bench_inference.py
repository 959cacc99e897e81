"""Generator inference: Fs-SRGAN (E1G16) and FA+Fs-SRGAN (E2G15) against BasicSR's RRDBNet with 23 RRDBs.

    python benchmarks/bench_inference.py                   # CPU here; --device cuda on a GPU
    python benchmarks/bench_inference.py --device cuda --precision fp16 --out_dir OUT
    python benchmarks/bench_inference.py --images          # the paper's protocol on a folder of real LR images
    python benchmarks/bench_inference.py --dry_run         # tiny generators: proves every path starts

The paper (model analysis) reports 0.138 s (Fs-SRGAN), 0.136 s (FA+Fs-SRGAN) and 0.357 s (ESRGAN) per
Urban100 image on an RTX 2080: "five times of inference on Urban100 and take the mean".

``--images [FOLDER]`` follows that protocol: every image of FOLDER (default: Urban100's ×4 LR images at
``datasets/benchmarks/Urban100/LR_bicubic/X4`` when present, else Set5's from ``../shared/benchmarks``) is
run whole through each generator, ``--passes`` times (default 5) over the folder; the passes of the three
generators alternate (pass 1 of each, then pass 2 of each, …) in one process, so a change of the machine's
load during the run falls on all three alike. One image is run first, untimed, per generator. Reported: the
mean time per image over the passes, the spread of the passes' means per image (min–max), the ratio to
RRDBNet-23, and the machine's load average before and after. Memory is not measured in this mode.

Without ``--images``, two synthetic inputs: a 128×128 LR image run whole, and a 2K output
(512×270 LR → 2048×1080) run in 128×128 tiles with 10 pixels of context, as
``fasrgan_basicsr/inference.py --tile 128 --tile_pad 10`` does. Random weights (the cost does not
depend on them); median (min–max) of ``--repeats`` runs after one warm-up. Peak memory (see
``common.py``): on CUDA (and in a dry run) all configurations run one after another in one child process;
on the CPU each has its own. Results go to ``<out_dir>/inference_<precision>_<machine>.md`` (default
``benchmarks/results``), and for ``--images`` to ``<out_dir>/inference_images_<set>_<precision>_<machine>.md``.
A dry run (``--dry_run``) runs both modes with tiny generators (the image mode on the default folder, when
there is one, over two passes).
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from basicsr.archs import build_network

from fasrgan_basicsr.generators.tiling import upscale

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

GENERATORS = {
    'RRDBNet-23 (ESRGAN, FASRGAN)': {'type': 'RRDBNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_block': 23},
    'FsRRDBNet E1G16 (Fs-SRGAN)': {'type': 'FsRRDBNet', 'num_shared_block': 1, 'num_block': 16},
    'FsRRDBNet E2G15 (FA+Fs-SRGAN)': {'type': 'FsRRDBNet', 'num_shared_block': 2, 'num_block': 15},
}
BASELINE = 'RRDBNet-23 (ESRGAN, FASRGAN)'
# input → (LR height, width), tile (0 = whole), warm-up runs (the 2K case is long on a CPU: no warm-up beyond one tile)
INPUTS = {'128×128 LR, whole': ((128, 128), 0, 1), '2K output (512×270 LR), tiles of 128': ((270, 512), 128, 0)}
AMP = {'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}
# the paper's folder (``datasets_prep``'s layout), else the Set5 that this project's checkout has beside it
IMAGE_FOLDERS = (common.ROOT / 'datasets' / 'benchmarks' / 'Urban100' / 'LR_bicubic' / 'X4',
                 common.ROOT.parent / 'shared' / 'benchmarks' / 'Set5' / 'LR_bicubic' / 'X4')
IMAGE_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')
PAPER = {BASELINE: 0.3573, 'FsRRDBNet E1G16 (Fs-SRGAN)': 0.1377, 'FsRRDBNet E2G15 (FA+Fs-SRGAN)': 0.1364}


def build_generator(name, device, dry_run):
    opt = dict(GENERATORS[name])
    if dry_run:  # 8 features, one deep block
        opt.update(num_feat=8, num_grow_ch=4, num_block=1)
    return build_network(opt).to(device).eval()


def measure(name, input_name, device, repeats, precision, dry_run):
    (h, w), tile, warmup = INPUTS[input_name]
    if dry_run and tile:  # 2 × 3 tiles
        h, w = tile + 8, 2 * tile + 8
    amp = AMP[precision]
    out = {}
    with common.peak_memory(device, out):
        net = build_generator(name, device, dry_run)
        out['params'] = sum(p.numel() for p in net.parameters())
        lr = torch.rand(1, 3, h, w, device=device)
        if tile:
            upscale(net, lr[..., :tile, :tile], 4, amp_dtype=amp)  # warm the kernels up on one tile
        out['time'] = common.time_it(lambda: upscale(net, lr, 4, tile=tile, tile_pad=10, amp_dtype=amp), device,
                                     repeats if not tile or device == 'cuda' else max(1, repeats // 3), warmup)
    return out


def child(jobs, device, repeats, precision, dry_run):
    results = []
    for job in jobs:  # one after another (CUDA): each one's tensors are freed before the next is measured
        results.append(measure(*job, device, repeats, precision, dry_run))
        gc.collect()
        if device == 'cuda':
            torch.cuda.empty_cache()
    return results


def image_files(folder):
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_EXTS)


def default_image_folder():
    return next((folder for folder in IMAGE_FOLDERS if folder.is_dir() and image_files(folder)), None)


def set_name(folder):
    """``Urban100`` of ``…/Urban100/LR_bicubic/X4``; else the folder's own name."""
    parts = Path(folder).resolve().parts
    return parts[-3] if len(parts) >= 3 and parts[-2].startswith('LR_') else parts[-1]


def child_images(folder, device, passes, precision, dry_run):
    """The paper's protocol: ``{generator: {'params', 'passes': [seconds of each pass over the folder]}}``."""
    images = []
    for path in image_files(folder):
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1]  # RGB
        images.append(torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float().div(255)[None].to(device))
    amp = AMP[precision]
    nets = {name: build_generator(name, device, dry_run) for name in GENERATORS}
    results = {name: {'params': sum(p.numel() for p in net.parameters()), 'passes': []} for name, net in nets.items()}
    for net in nets.values():  # untimed first run of each
        upscale(net, images[0], 4, amp_dtype=amp)
    for _ in range(passes):
        for name, net in nets.items():
            seconds = 0.
            for lr in images:
                common.sync(device)
                start = time.perf_counter()
                upscale(net, lr, 4, amp_dtype=amp)
                common.sync(device)
                seconds += time.perf_counter() - start
            results[name]['passes'].append(seconds)
    return results


def image_sizes(folder):
    """``[(height, width)]`` of the folder's images; exits with one line (status 2) on an unreadable one."""
    sizes = []
    for path in image_files(folder):
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if img is None:
            print(f'error: --images: {path} is not a readable image.', file=sys.stderr)
            sys.exit(2)
        sizes.append(img.shape[:2])
    return sizes


def images_body(folder, sizes, results, args, load):
    """The Markdown of the image mode: mean time per image over the passes, their spread, ratios, the paper's."""
    files = image_files(folder)
    pixels = sum(h * w for h, w in sizes)
    (h0, w0), (h1, w1) = (f(sizes, key=lambda size: size[0] * size[1]) for f in (min, max))
    base = results[BASELINE]['passes']
    rows = []
    for name, r in results.items():
        per_image = [t / len(files) for t in r['passes']]
        mean = statistics.mean(per_image)
        ratios = [t / b for t, b in zip(r['passes'], base)]
        paper = PAPER[name]
        rows.append([name, f'{r["params"]:,}', f'{mean:.3f} s', f'{min(per_image):.3f}–{max(per_image):.3f} s',
                     f'{mean * len(files) / statistics.mean(base):.2f}× ({min(ratios):.2f}–{max(ratios):.2f})',
                     f'{paper:.4f} s ({paper / PAPER[BASELINE]:.2f}×)'])
    table = common.markdown_table(['generator', 'parameters', 'time per image, mean of passes', 'passes (min–max)',
                                   'vs RRDBNet-23 (per pass: min–max)', 'paper (RTX 2080, Urban100)'], rows)
    dry = '**Dry run** (8-feature generators, one deep block): the times mean nothing.\n\n' if args.dry_run else ''
    shown = os.path.relpath(Path(folder).resolve(), common.ROOT)  # as typed from the project's root
    cores = os.cpu_count()
    loaded = (f'; the machine\'s load average (1 min) was {load[0]:.2f} before and {load[1]:.2f} after, on '
              f'{cores} cores shared with other work: the times are those of a loaded machine (the per-pass ratios '
              'show how far the load moved them)' if args.device == 'cpu' else '')
    return (f'{dry}{set_name(folder)} (`{shown}`): {len(files)} images, {pixels:,} LR pixels in all '
            f'({w0}×{h0} … {w1}×{h1}), each run whole; '
            f'{args.passes} passes over the folder, the generators\' passes alternating; {args.precision}, batch 1, '
            f'random weights{loaded}.\n\n{table}\n\nThe paper times a GPU (RTX 2080) on Urban100; only the '
            'ratios compare.\n\n'
            f'    python benchmarks/bench_inference.py --images {shown} --device {args.device} '
            f'--precision {args.precision}' + (' --dry_run' if args.dry_run else ''))


def run_images(folder, args, flags):
    """Run the image mode in a child process and write its table; returns False when it failed."""
    sizes = image_sizes(folder)
    load_before = os.getloadavg()[0]
    try:
        results = common.run_child(__file__, [json.dumps({'images': str(folder)})] + flags, args.child_timeout)
    except (common.ChildTimeout, RuntimeError) as err:
        print(f'FAILED: {set_name(folder)}: {str(err).splitlines()[0]}', flush=True)
        return False
    body = images_body(folder, sizes, results, args, (load_before, os.getloadavg()[0]))
    name = f'inference_images_{set_name(folder).lower()}_{args.precision}' + ('_dry_run' if args.dry_run else '')
    path = common.write_result(name, args.device, f'Generator inference per image of {set_name(folder)} (the '
                               'paper\'s protocol)', body, args.out_dir)
    print('\n' + body + f'\n\nwritten to {path}', flush=True)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu', choices=['cuda', 'cpu'])
    parser.add_argument('--repeats', type=int, default=None, help='default: 10 on CUDA, 3 on CPU, 1 in a dry run')
    parser.add_argument('--precision', default='fp32', choices=list(AMP))
    parser.add_argument('--out_dir', default=None, help='where the result table goes (default benchmarks/results)')
    parser.add_argument('--child_timeout', type=float, default=None, help='seconds per child process (default: none)')
    parser.add_argument('--images', nargs='?', const='', default=None, metavar='FOLDER',
                        help='the paper\'s protocol on a folder of LR images, instead of the synthetic inputs '
                        '(default folder: Urban100 LR ×4 under datasets/benchmarks when present, else '
                        '../shared/benchmarks/Set5/LR_bicubic/X4)')
    parser.add_argument('--passes', type=int, default=None, help='passes over the --images folder (default 5 as '
                        'the paper, 2 in a dry run)')
    parser.add_argument('--dry_run', action='store_true', help='8-feature generators with one deep block: proves '
                        'every configuration runs (both modes without --images)')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    args = parser.parse_args()
    repeats = args.repeats or (1 if args.dry_run else 10 if args.device == 'cuda' else 3)
    args.passes = (2 if args.dry_run else 5) if args.passes is None else args.passes
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device is available.')
    if args.passes < 1:
        parser.error(f'--passes {args.passes}: expected a whole number >= 1.')
    folder = args.images or default_image_folder()
    if args.images is not None and folder is None:
        parser.error('--images: no folder given and none of the default ones has images: '
                     + ', '.join(map(str, IMAGE_FOLDERS)))
    if args.images and not (Path(folder).is_dir() and image_files(folder)):
        parser.error(f'--images {folder}: not a folder with images ({", ".join(IMAGE_EXTS)}).')
    if args.child:  # a JSON list of [generator, input], or {"images": folder}
        jobs = json.loads(args.child)
        if isinstance(jobs, dict):
            print(json.dumps(child_images(jobs['images'], args.device, args.passes, args.precision, args.dry_run)))
        else:
            print(json.dumps(child(jobs, args.device, repeats, args.precision, args.dry_run)))
        return

    flags = ['--device', args.device, '--repeats', str(repeats), '--precision', args.precision,
             '--passes', str(args.passes)]
    flags += ['--dry_run'] if args.dry_run else []
    if args.images is not None:
        sys.exit(0 if run_images(folder, args, flags) else 1)
    jobs = [(name, input_name) for input_name in INPUTS for name in GENERATORS]
    results, failed = {}, []
    # a dry run measures no memory: one process for all, as on CUDA
    for chunk in common.per_process('cuda' if args.dry_run else args.device, jobs):
        try:
            measured = common.run_child(__file__, [json.dumps(chunk)] + flags, args.child_timeout)
        except (common.ChildTimeout, RuntimeError) as err:
            failed.append(f'{", ".join(" | ".join(job) for job in chunk)}: {str(err).splitlines()[0]}')
            print(f'FAILED: {failed[-1]}', flush=True)
            continue
        for job, result in zip(chunk, measured):
            results[job] = result
            print(f'{job[1]} | {job[0]}: {common.fmt_time(result["time"])}', flush=True)
    rows = []
    for (name, input_name), r in results.items():
        base = results.get((BASELINE, input_name))
        rows.append([input_name, name, f'{r["params"]:,}', common.fmt_time(r['time']),
                     f'{r["time"]["median"] / base["time"]["median"]:.2f}×' if base else '–',
                     '–' if args.dry_run else f'{r["peak_mib"]:.0f} MiB'])
    table = common.markdown_table(['input', 'generator', 'parameters', 'time, median (min–max)',
                                   'vs RRDBNet-23', 'peak memory'], rows)
    dry = '**Dry run** (8-feature generators, one deep block): the times mean nothing.\n\n' if args.dry_run else ''
    body = (f'{dry}{args.precision}, batch 1, random weights.\n\n{table}\n\nPaper (RTX 2080, Urban100): Fs-SRGAN '
            '0.1377 s, FA+Fs-SRGAN 0.1364 s, ESRGAN 0.3573 s per image (0.39×, 0.38×).' +
            ('\n\nNot measured:\n' + '\n'.join(f'- {f}' for f in failed) if failed else '') +
            f'\n\n    python benchmarks/bench_inference.py --device {args.device} --precision {args.precision}' +
            (' --dry_run' if args.dry_run else ''))
    name = f'inference_{args.precision}' + ('_dry_run' if args.dry_run else '')
    path = common.write_result(name, args.device, 'Generator inference vs RRDBNet-23', body, args.out_dir)
    print('\n' + body + f'\n\nwritten to {path}')
    if args.dry_run:  # the image mode too
        if folder is None:
            print('image mode: not run (no folder of images: ' + ', '.join(map(str, IMAGE_FOLDERS)) + ')')
        elif not run_images(folder, args, flags):
            sys.exit(1)


if __name__ == '__main__':
    main()
