"""The embedded demo behind ``make demo``: a small FASRGAN trained end to end on CPU in minutes.

1. writes a tiny paired dataset from photographs shipped in scikit-image (``datasets/demo``);
2. pretrains a small RRDBNet with L1 (``options/demo/train_RRDBNet_PSNR_demo.yml``);
3. trains FASRGAN from it (``options/demo/train_FASRGAN_demo.yml``), validating PSNR/SSIM;
4. evaluates the generator with BasicSR's test pipeline and writes the discriminator's score maps.

Every step runs the real entry points (``fasrgan_basicsr/train.py``, ``test.py``) as a user would.
Run from the repository root: ``python -m fasrgan_basicsr.demo``.
"""
import glob
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


def run(args):
    print('$', ' '.join(args), flush=True)
    subprocess.run([sys.executable] + args, cwd=ROOT, check=True)


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


def main():
    start = time.time()
    data = osp.join(ROOT, 'datasets', 'demo')
    write_paired_folders(osp.join(data, 'train'), TRAIN_PHOTOS, scale=4, downscale=2)
    write_paired_folders(osp.join(data, 'val'), VAL_PHOTOS, scale=4, downscale=2)
    print(f'demo data: {data} ({len(TRAIN_PHOTOS)} training, {len(VAL_PHOTOS)} validation photographs)')

    train = osp.join(PKG, 'train.py')
    run([train, '-opt', 'options/demo/train_RRDBNet_PSNR_demo.yml'])
    run([train, '-opt', 'options/demo/train_FASRGAN_demo.yml'])

    with open(osp.join(ROOT, 'options/demo/train_FASRGAN_demo.yml')) as f:
        train_opt = yaml.safe_load(f)
    test_opt = osp.join(ROOT, 'experiments', 'FASRGAN_demo', 'test_FASRGAN_demo.yml')
    write_test_options(test_opt, train_opt)
    run([osp.join(PKG, 'test.py'), '-opt', test_opt])

    maps = osp.join(ROOT, 'results', 'FASRGAN_demo_test', 'score_maps')
    models = osp.join(ROOT, 'experiments', 'FASRGAN_demo', 'models')
    run([osp.join(PKG, 'visualize_score_map.py'), '-opt', 'options/demo/train_FASRGAN_demo.yml',
         '--net_g', osp.join(models, 'net_g_latest.pth'), '--net_d', osp.join(models, 'net_d_latest.pth'),
         '-i', osp.join(data, 'val', 'LR_bicubic', 'X4'), '-o', maps])

    logs = sorted(glob.glob(osp.join(ROOT, 'results', 'FASRGAN_demo_test', 'test_*.log')))
    print(f'\nDemo finished in {time.time() - start:.0f} s.')
    print(f'  training log and checkpoints: {osp.join(ROOT, "experiments", "FASRGAN_demo")}')
    print(f'  test log (PSNR/SSIM):         {logs[-1] if logs else "missing"}')
    print(f'  SR images:                    {osp.join(ROOT, "results", "FASRGAN_demo_test", "visualization")}')
    print(f'  score maps (SR | heat-map):   {maps}')


if __name__ == '__main__':
    main()
