"""The embedded demo behind ``make demo``: a small FASRGAN trained end to end on CPU in minutes.

1. writes a tiny paired dataset from photographs shipped in scikit-image (``datasets/demo``): four training
   photographs at half size, and the validation photograph (chelsea, 448×300) at full size, so its panels
   show detail;
2. pretrains a small RRDBNet with L1 (``options/demo/train_RRDBNet_PSNR_demo.yml``);
3. trains FASRGAN from it (``options/demo/train_FASRGAN_demo.yml``), validating PSNR/SSIM and saving the
   discriminator's score-map panels at each validation (``val.save_score_map``, also in TensorBoard);
4. evaluates the generator with BasicSR's test pipeline and writes the discriminator's score maps with
   ``visualize_score_map.py`` (HR | SR | M on the absolute scale | M stretched), printing their range.

Every step runs the real entry points (``fasrgan_basicsr/train.py``, ``test.py``) as a user would.
Run from the repository root: ``python -m fasrgan_basicsr.demo``. ``--root DIR`` puts ``datasets/demo``,
``experiments``, ``results`` and ``tb_logger`` under DIR instead of the repository; ``--iterations N``
trains each network N iterations instead of the option files' totals (a smoke run: the tests use it).
"""
import argparse
import glob
import os
import subprocess
import sys
import time
from os import path as osp

import yaml

from fasrgan_basicsr.utils.demo_data import write_paired_folders

ROOT = osp.abspath(osp.join(osp.dirname(__file__), osp.pardir))
PKG = osp.join(ROOT, 'fasrgan_basicsr')
TRAIN_PHOTOS = ['astronaut', 'coffee', 'rocket', 'motorcycle']
VAL_PHOTOS = ['chelsea']


def run(args, root, capture=False):
    """Run a script of this package with this Python in ``root``; with ``capture``, echo and return its stdout."""
    print('$', ' '.join(args), flush=True)
    proc = subprocess.run([sys.executable] + args, cwd=root, check=True, text=True,
                          env=dict(os.environ, FASRGAN_ROOT=root), stdout=subprocess.PIPE if capture else None)
    if capture:
        print(proc.stdout, end='', flush=True)
    return proc.stdout


def checkpoint(models, net, iteration):
    """``net_<net>_<iteration>.pth`` (its title then names the iteration), else ``net_<net>_latest.pth``."""
    numbered = osp.join(models, f'net_{net}_{iteration}.pth')
    return numbered if osp.isfile(numbered) else osp.join(models, f'net_{net}_latest.pth')


def write_test_options(path, train_opt):
    """A BasicSR test option file evaluating the FASRGAN generator (EMA weights) with plain SRModel."""
    opt = {
        'name': 'FASRGAN_demo_test',
        'model_type': 'SRModel',
        'scale': 4,
        'num_gpu': 0,
        'datasets': {'test_1': dict(train_opt['datasets']['val'], name='demo_val')},
        'network_g': train_opt['network_g'],
        'path': {'pretrain_network_g': 'experiments/FASRGAN_demo/models/net_g_latest.pth',
                 'param_key_g': 'params_ema', 'strict_load_g': True},
        'val': {'save_img': True, 'suffix': None, 'metrics': train_opt['val']['metrics']},
    }
    with open(path, 'w') as f:
        yaml.safe_dump(opt, f, sort_keys=False)


def shortened(iterations):
    """``--force_yml`` entries that train ``iterations`` iterations, validating and saving at the end."""
    if iterations is None:
        return []
    return ['--force_yml', f'train:total_iter={iterations}', f'val:val_freq={iterations}',
            f'logger:save_checkpoint_freq={iterations}', 'logger:print_freq=1']


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--root', default=ROOT, help='where datasets/, experiments/ and results/ go (default: the '
                        'repository)')
    parser.add_argument('--iterations', type=int, help='train each network this many iterations (default: the '
                        'option files\' totals)')
    args = parser.parse_args(argv)
    if args.iterations is not None and args.iterations < 1:
        parser.error(f'--iterations {args.iterations}: expected a positive number.')
    root = osp.abspath(args.root)
    os.makedirs(root, exist_ok=True)
    start = time.time()
    data = osp.join(root, 'datasets', 'demo')
    write_paired_folders(osp.join(data, 'train'), TRAIN_PHOTOS, scale=4, downscale=2)
    write_paired_folders(osp.join(data, 'val'), VAL_PHOTOS, scale=4, downscale=1)
    print(f'demo data: {data} ({len(TRAIN_PHOTOS)} training, {len(VAL_PHOTOS)} validation photographs)')

    train = osp.join(PKG, 'train.py')
    psnr_opt, fasrgan_opt = (osp.join(ROOT, 'options', 'demo', f'train_{name}_demo.yml')
                             for name in ('RRDBNet_PSNR', 'FASRGAN'))
    run([train, '-opt', psnr_opt] + shortened(args.iterations), root)
    run([train, '-opt', fasrgan_opt] + shortened(args.iterations), root)

    with open(fasrgan_opt) as f:
        train_opt = yaml.safe_load(f)
    test_opt = osp.join(root, 'experiments', 'FASRGAN_demo', 'test_FASRGAN_demo.yml')
    write_test_options(test_opt, train_opt)
    run([osp.join(PKG, 'test.py'), '-opt', test_opt], root)

    maps = osp.join(root, 'results', 'FASRGAN_demo_test', 'score_maps')
    models = osp.join(root, 'experiments', 'FASRGAN_demo', 'models')
    total_iter = args.iterations or train_opt['train']['total_iter']
    printed = run([osp.join(PKG, 'visualize_score_map.py'), '-opt', fasrgan_opt,
                   '--net_g', checkpoint(models, 'g', total_iter), '--net_d', checkpoint(models, 'd', total_iter),
                   '-i', osp.join(data, 'val', 'LR_bicubic', 'X4'), '--hr', osp.join(data, 'val', 'HR'),
                   '--normalize', '--overwrite', '-o', maps], root, capture=True)

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


if __name__ == '__main__':
    main()
