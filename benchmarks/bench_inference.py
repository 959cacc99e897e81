"""Generator inference: Fs-SRGAN (E1G16) and FA+Fs-SRGAN (E2G15) against BasicSR's RRDBNet with 23 RRDBs.

    python benchmarks/bench_inference.py                   # CPU here; --device cuda on a GPU

The paper (model analysis) reports 0.138 s (Fs-SRGAN), 0.136 s (FA+Fs-SRGAN) and 0.357 s (ESRGAN) per
Urban100 image on an RTX 2080. Two inputs: a 128×128 LR image run whole, and a 2K output
(512×270 LR → 2048×1080) run in 128×128 tiles with 10 pixels of context, as
``fasrgan_basicsr/inference.py --tile 128 --tile_pad 10`` does. Random weights (the cost does not
depend on them); each configuration in its own child process; median (min–max) of ``--repeats``
runs after one warm-up. Results go to ``benchmarks/results/inference_<machine>.md``.
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import argparse
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


def child(name, input_name, device, repeats, precision):
    net = build_network(dict(GENERATORS[name])).to(device).eval()
    (h, w), tile, warmup = INPUTS[input_name]
    lr = torch.rand(1, 3, h, w, device=device)
    amp = {'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}[precision]
    out = {'params': sum(p.numel() for p in net.parameters())}
    if tile:
        upscale(net, lr[..., :tile, :tile], 4, amp_dtype=amp)  # warm the kernels up on one tile
    with common.peak_memory(device, out):
        out['time'] = common.time_it(lambda: upscale(net, lr, 4, tile=tile, tile_pad=10, amp_dtype=amp), device,
                                     repeats if not tile or device == 'cuda' else max(1, repeats // 3), warmup)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--repeats', type=int, default=None, help='default: 10 on CUDA, 3 on CPU')
    parser.add_argument('--precision', default='fp32', choices=['fp32', 'bf16', 'fp16'])
    parser.add_argument('--child', nargs='+', help=argparse.SUPPRESS)
    args = parser.parse_args()
    repeats = args.repeats or (10 if args.device == 'cuda' else 3)
    if args.child:
        print(json.dumps(child(*args.child, args.device, repeats, args.precision)))
        return

    flags = ['--device', args.device, '--repeats', str(repeats), '--precision', args.precision]
    rows = []
    for input_name in INPUTS:
        results = {}
        for name in GENERATORS:
            results[name] = common.run_child(__file__, [name, input_name] + flags)
            print(f'{input_name} | {name}: {common.fmt_time(results[name]["time"])}', flush=True)
        base = results[BASELINE]['time']['median']
        for name, r in results.items():
            rows.append([input_name, name, f'{r["params"]:,}', common.fmt_time(r['time']),
                         f'{r["time"]["median"] / base:.2f}×', f'{r["peak_mib"]:.0f} MiB'])
    table = common.markdown_table(['input', 'generator', 'parameters', 'time, median (min–max)',
                                   'vs RRDBNet-23', 'peak memory'], rows)
    body = (f'{args.precision}, batch 1, random weights.\n\n{table}\n\nPaper (RTX 2080, Urban100): Fs-SRGAN 0.1377 s, '
            'FA+Fs-SRGAN 0.1364 s, ESRGAN 0.3573 s per image (0.39×, 0.38×).\n\n'
            f'    python benchmarks/bench_inference.py --device {args.device} --precision {args.precision}')
    path = common.write_result(f'inference_{args.precision}', args.device, 'Generator inference vs RRDBNet-23', body)
    print('\n' + body + f'\n\nwritten to {path}')


if __name__ == '__main__':
    main()
