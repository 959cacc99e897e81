"""Data loading: BasicSR's PairedImageDataset from LMDB against PNG folders, at the paper's batch and patch size.

    python benchmarks/bench_data_loading.py [--workers 0 2] [--batches 40]

Builds a small DIV2K-like training set from scikit-image's photographs (upscaled ×2, then the real
``datasets_prep/prepare_div2k.py`` recipe: 480×480 sub-images every 240 pixels, MATLAB bicubic ×4,
LMDBs, and ``--keep-folders`` for the PNG copies), then times BasicSR's ``PairedImageDataset`` with
``io_backend: lmdb`` and ``disk`` through a DataLoader of batch 16 and 128×128 GT patches with flips
and rotations, as the training option files do. Reports batches/s and samples/s (median of three
passes over ``--batches`` batches after one warm-up batch); the disk backend is the baseline.
Results go to ``benchmarks/results/data_loading_<machine>.md``.
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable)

# isort: split
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
from basicsr.data.paired_image_dataset import PairedImageDataset
from torch.utils.data import DataLoader

from fasrgan_basicsr.demos.photos import PHOTOS, load_photo

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import common  # noqa: E402

from fasrgan_basicsr.datasets_prep.prepare_div2k import prepare_div2k  # noqa: E402


def build_dataset(root):
    hr = root / 'HR'
    hr.mkdir()
    for name in PHOTOS:
        img = load_photo(name)
        img = cv2.resize(img, (img.shape[1] * 2, img.shape[0] * 2), interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(hr / f'{name}.png'), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    prepare_div2k(str(hr), str(root / 'out'), scales=(4,), keep_folders=True, workers=2)
    out = root / 'out'
    return {'lmdb': (out / 'DIV2K_train_HR_sub.lmdb', out / 'DIV2K_train_LR_bicubic_X4_sub.lmdb'),
            'disk': (out / 'DIV2K_train_HR_sub', out / 'DIV2K_train_LR_bicubic' / 'X4_sub')}


def loader(gt, lq, backend, workers):
    opt = {'phase': 'train', 'scale': 4, 'gt_size': 128, 'use_hflip': True, 'use_rot': True, 'filename_tmpl': '{}',
           'dataroot_gt': str(gt), 'dataroot_lq': str(lq), 'io_backend': {'type': backend}}
    dataset = PairedImageDataset(opt)
    return DataLoader(dataset, batch_size=16, shuffle=True, num_workers=workers, drop_last=True,
                      persistent_workers=workers > 0), len(dataset)


def batches_per_second(data, batches):
    times = []
    for _ in range(3):
        it = iter(data)
        next(it)  # warm-up (and worker start-up)
        start = time.perf_counter()
        for _ in range(batches):
            try:
                next(it)
            except StopIteration:
                it = iter(data)
                next(it)
        times.append(time.perf_counter() - start)
    return batches / statistics.median(times), batches / max(times), batches / min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--workers', type=int, nargs='+', default=[0, 2])
    parser.add_argument('--batches', type=int, default=40)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = build_dataset(Path(tmp))
        for workers in args.workers:
            speeds = {}
            for backend in ('disk', 'lmdb'):
                data, n = loader(*paths[backend], backend, workers)
                speeds[backend] = batches_per_second(data, args.batches)
                print(f'{backend}, {workers} workers: {speeds[backend][0]:.2f} batches/s', flush=True)
            for backend, (median, lo, hi) in speeds.items():
                rows.append([backend, workers, n, f'{median:.2f} ({lo:.2f}–{hi:.2f})', f'{median * 16:.0f}',
                             f'{median / speeds["disk"][0]:.2f}×'])
    table = common.markdown_table(['backend', 'workers', 'sub-images', 'batches/s, median (min–max)', 'samples/s',
                                   'vs PNG folders'], rows)
    body = (f'Batch 16, 128×128 GT patches (32×32 LR), flips and rotations; {args.batches} batches per pass.\n\n'
            f'{table}\n\n    python benchmarks/bench_data_loading.py')
    path = common.write_result('data_loading', 'cpu', 'PairedImageDataset: LMDB vs PNG folders', body)
    print('\n' + body + f'\n\nwritten to {path}')


if __name__ == '__main__':
    main()
