"""Generator inference: Fs-SRGAN (E1G16) and FA+Fs-SRGAN (E2G15) against BasicSR's RRDBNet with 23 RRDBs.

    python benchmarks/bench_inference.py                   # CPU here; --device cuda on a GPU
    python benchmarks/bench_inference.py --device cuda --precision fp16 --out_dir OUT
    python benchmarks/bench_inference.py --dry_run         # tiny generators: proves every path starts

The paper (model analysis) reports 0.138 s (Fs-SRGAN), 0.136 s (FA+Fs-SRGAN) and 0.357 s (ESRGAN) per
Urban100 image on an RTX 2080. Two inputs: a 128×128 LR image run whole, and a 2K output
(512×270 LR → 2048×1080) run in 128×128 tiles with 10 pixels of context, as
``fasrgan_basicsr/inference.py --tile 128 --tile_pad 10`` does. Random weights (the cost does not
depend on them); median (min–max) of ``--repeats`` runs after one warm-up. Peak memory (see
``common.py``): on CUDA (and in a dry run) all configurations run one after another in one child process;
on the CPU each has its own. Results go to ``<out_dir>/inference_<precision>_<machine>.md`` (default
``benchmarks/results``).
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import argparse
import gc
import json
import sys
from pathlib import Path

import torch
from basicsr.archs import build_network

from fasrgan_basicsr.evaluation.generators import upscale

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


def measure(name, input_name, device, repeats, precision, dry_run):
    opt = dict(GENERATORS[name])
    if dry_run:  # 8 features, one deep block (and below, a smaller tiled input)
        opt.update(num_feat=8, num_grow_ch=4, num_block=1)
    (h, w), tile, warmup = INPUTS[input_name]
    if dry_run and tile:  # 2 × 3 tiles
        h, w = tile + 8, 2 * tile + 8
    amp = AMP[precision]
    out = {}
    with common.peak_memory(device, out):
        net = build_network(opt).to(device).eval()
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu', choices=['cuda', 'cpu'])
    parser.add_argument('--repeats', type=int, default=None, help='default: 10 on CUDA, 3 on CPU, 1 in a dry run')
    parser.add_argument('--precision', default='fp32', choices=list(AMP))
    parser.add_argument('--out_dir', default=None, help='where the result table goes (default benchmarks/results)')
    parser.add_argument('--child_timeout', type=float, default=None, help='seconds per child process (default: none)')
    parser.add_argument('--dry_run', action='store_true', help='8-feature generators with one deep block: proves '
                        'every configuration runs')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    args = parser.parse_args()
    repeats = args.repeats or (1 if args.dry_run else 10 if args.device == 'cuda' else 3)
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device is available.')
    if args.child:  # a JSON list of [generator, input]
        print(json.dumps(child(json.loads(args.child), args.device, repeats, args.precision, args.dry_run)))
        return

    flags = ['--device', args.device, '--repeats', str(repeats), '--precision', args.precision]
    flags += ['--dry_run'] if args.dry_run else []
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


if __name__ == '__main__':
    main()
