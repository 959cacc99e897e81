"""The embedded demo behind ``make demo``: a small FASRGAN trained end to end on CPU in minutes.

1. writes a tiny paired dataset from photographs shipped in scikit-image (``datasets/demo``): four training
   photographs at half size, and the validation photograph (chelsea, 448×300) at full size, so its panels
   show detail;
2. pretrains a small RRDBNet with L1 (``options/demo/train_RRDBNet_PSNR_demo.yml``);
3. trains FASRGAN from it (``options/demo/train_FASRGAN_demo.yml``), validating PSNR/SSIM and saving the
   discriminator's score-map panels at each validation (``val.save_score_map``, also in TensorBoard);
4. evaluates the generator with BasicSR's test pipeline and writes the discriminator's score maps with
   ``visualize_score_map.py`` (HR | SR | M on the absolute scale | M stretched), printing their range.

Every step runs the real commands (``fasrgan-train``, ``fasrgan-test``, ``fasrgan-score-map``) as a user would.
``fasrgan-demo`` (``make demo``, ``python -m fasrgan_basicsr.cli.demo``) writes ``datasets/demo``, ``experiments``,
``results`` and ``tb_logger`` under its root (the current folder, or ``--root DIR``, created when missing);
``--iterations N`` trains each network N iterations instead of the option files' totals (a smoke run: the tests
use it).
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import glob
import os
import sys
import time
from os import path as osp

import yaml

from fasrgan_basicsr.demos.fasrgan import write_test_options
from fasrgan_basicsr.demos.photos import write_paired_folders
from fasrgan_basicsr.demos.steps import checkpoint, run_step, shortened
from fasrgan_basicsr.utils.cli import ArgumentParser, entry_point, positive_int
from fasrgan_basicsr.utils.run_root import enter_root
from fasrgan_basicsr.utils.shipped_options import shipped_option_file

TRAIN_PHOTOS = ['astronaut', 'coffee', 'rocket', 'motorcycle']
VAL_PHOTOS = ['chelsea']


def main(argv=None):
    parser = ArgumentParser(description=__doc__, root=False)
    parser.add_argument('--root', default=None, help='where datasets/, experiments/ and results/ go (default: '
                        '$FASRGAN_ROOT if set, else the current folder; created when missing)')
    parser.add_argument('--iterations', type=positive_int, help='train each network this many iterations '
                        '(default: the option files\' totals)')
    args = parser.parse_args(argv)
    root = enter_root(args.root, create=True)
    start = time.time()
    data = osp.join(root, 'datasets', 'demo')
    write_paired_folders(osp.join(data, 'train'), TRAIN_PHOTOS, scale=4, downscale=2)
    write_paired_folders(osp.join(data, 'val'), VAL_PHOTOS, scale=4, downscale=1)
    print(f'demo data: {data} ({len(TRAIN_PHOTOS)} training, {len(VAL_PHOTOS)} validation photographs)')

    psnr_opt, fasrgan_opt = (shipped_option_file(f'demo/train_{name}_demo.yml') for name in ('RRDBNet_PSNR', 'FASRGAN'))
    run_step('train', ['-opt', psnr_opt] + shortened(args.iterations), root)
    run_step('train', ['-opt', fasrgan_opt] + shortened(args.iterations), root)

    with open(fasrgan_opt) as f:
        train_opt = yaml.safe_load(f)
    test_opt = osp.join(root, 'experiments', 'FASRGAN_demo', 'test_FASRGAN_demo.yml')
    write_test_options(test_opt, train_opt)
    run_step('test', ['-opt', test_opt], root)

    maps = osp.join(root, 'results', 'FASRGAN_demo_test', 'score_maps')
    models = osp.join(root, 'experiments', 'FASRGAN_demo', 'models')
    total_iter = args.iterations or train_opt['train']['total_iter']
    printed = run_step('visualize_score_map', [
        '-opt', fasrgan_opt, '--net_g', checkpoint(models, 'g', total_iter),
        '--net_d', checkpoint(models, 'd', total_iter),
        '-i', osp.join(data, 'val', 'LR_bicubic', 'X4'), '--hr', osp.join(data, 'val', 'HR'), '--normalize',
        '--overwrite', '-o', maps], root, capture=True)

    logs = sorted(glob.glob(osp.join(root, 'results', 'FASRGAN_demo_test', 'test_*.log')))
    print(f'\nDemo finished in {time.time() - start:.0f} s.')
    print(f'  training log and checkpoints: {osp.join(root, "experiments", "FASRGAN_demo")}')
    print(f'  test log (PSNR/SSIM):         {logs[-1] if logs else "missing"}')
    print(f'  SR images:                    {osp.join(root, "results", "FASRGAN_demo_test", "visualization")}')
    print(f'  score-map panels during training: {osp.join(root, "experiments", "FASRGAN_demo", "visualization")} '
          f'(TensorBoard: tensorboard --logdir {osp.join(root, "tb_logger")})')
    print(f'  score maps (HR | SR | M | M stretched): {maps}')
    for line in printed.splitlines():  # "<panel>  M min … max … mean …"
        panel, _, numbers = line.partition('  M ')
        print(f'    {os.path.basename(panel)}: score map M {numbers}')



run = entry_point(main)

if __name__ == '__main__':
    sys.exit(run())
