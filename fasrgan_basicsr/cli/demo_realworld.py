"""The real-world demo behind ``make demo-realworld``: Real-ESRGAN's recipe with fine-grained attention, on CPU.

1. HR images only (``datasets/demo/realworld``): four photographs shipped in scikit-image at full size
   (astronaut, coffee, rocket, motorcycle) in ``train_HR/``, cut into 400×400 sub-images with a meta-info list
   by ``datasets_prep/prepare_realesrgan.py`` (what BasicSR's ``RealESRGANDataset`` reads; LR is made on the fly);
2. a test pair no training image comes from: chelsea (448×300, ``val/HR``) and its degraded input (112×75,
   ``val/LQ``), made once by :func:`degrade` with a fixed seed;
3. trains a small RealESRNet (``options/demo/train_RealESRNet_demo.yml``: L1 on inputs degraded on the fly by
   Real-ESRGAN's second-order pipeline), then a small RealESRGAN_FA from it
   (``options/demo/train_RealESRGAN_FA_demo.yml``: the same degradations, ``RealESRGANFAModel`` with a
   spectral-norm ``UNetDiscriminatorFA``);
4. evaluates the generator on the test pair with BasicSR's test pipeline (PSNR/SSIM in the test log), writes the
   discriminator's score map with ``visualize_score_map.py --hr --normalize`` (its panel: HR | SR | M | M
   stretched) and puts the degraded input beside it (``chelsea_side_by_side.png``: degraded input enlarged with
   nearest neighbour | HR | SR | M | M stretched), printing where everything is and the map's range.

Every step runs the real commands (``fasrgan-prepare-realesrgan``, ``fasrgan-train``, ``fasrgan-test``,
``fasrgan-score-map``) as a user would. ``fasrgan-demo-realworld`` (``make demo-realworld``,
``python -m fasrgan_basicsr.cli.demo_realworld``) writes ``datasets/demo/realworld``, ``experiments``, ``results``
and ``tb_logger`` under its root (the current folder, or ``--root DIR``, created when missing); ``--iterations N``
trains each network N iterations instead of the option files' totals (a smoke run: the tests use it).
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import glob
import re
import sys
import time
from os import path as osp

import cv2
import yaml

from fasrgan_basicsr.demos.realworld import (
    DEGRADATION_SEED,
    ESRNET_OPT,
    FA_OPT,
    TEST_NAME,
    TEST_PHOTO,
    data_root,
    degradation_settings,
    side_by_side,
    write_test_options,
    write_test_pair,
    write_training_photos,
)
from fasrgan_basicsr.demos.steps import checkpoint, run_step, shortened
from fasrgan_basicsr.utils.cli import ArgumentParser, entry_point, positive_int
from fasrgan_basicsr.utils.run_root import enter_root
from fasrgan_basicsr.utils.shipped_options import shipped_option_file


def main(argv=None):
    parser = ArgumentParser(description=__doc__, root=False)
    parser.add_argument('--root', default=None, help='where datasets/, experiments/ and results/ go (default: '
                        '$FASRGAN_ROOT if set, else the current folder; created when missing)')
    parser.add_argument('--iterations', type=positive_int, help='train each network this many iterations '
                        '(default: the option files\' totals)')
    args = parser.parse_args(argv)
    iterations = args.iterations
    root = enter_root(args.root, create=True)
    start = time.time()
    esrnet_path, fa_path = shipped_option_file(ESRNET_OPT), shipped_option_file(FA_OPT)
    with open(esrnet_path) as f:
        esrnet_opt = yaml.safe_load(f)
    with open(fa_path) as f:
        fa_opt = yaml.safe_load(f)

    data = data_root(root)
    write_training_photos(osp.join(data, 'train_HR'))
    run_step('prepare_realesrgan', ['--input', osp.join(data, 'train_HR'), '--output', data, '--workers', '1',
                                    '--overwrite'], root)
    drawn = write_test_pair(osp.join(data, 'val'), degradation_settings(esrnet_opt))
    print(f'test pair: {osp.join(data, "val")} ({TEST_PHOTO}; its degraded input: {drawn}, seed {DEGRADATION_SEED})')

    run_step('train', ['-opt', esrnet_path] + shortened(iterations), root)
    run_step('train', ['-opt', fa_path] + shortened(iterations), root)

    experiment = osp.join(root, 'experiments', fa_opt['name'])
    test_opt = osp.join(experiment, f'test_{fa_opt["name"]}.yml')
    write_test_options(test_opt, fa_opt)
    run_step('test', ['-opt', test_opt], root)

    results = osp.join(root, 'results', TEST_NAME)
    maps = osp.join(results, 'score_maps')
    models = osp.join(experiment, 'models')
    total_iter = iterations or fa_opt['train']['total_iter']
    printed = run_step('visualize_score_map', [
        '-opt', fa_path, '--net_g', checkpoint(models, 'g', total_iter), '--net_d', checkpoint(models, 'd', total_iter),
        '-i', osp.join(data, 'val', 'LQ'), '--hr', osp.join(data, 'val', 'HR'), '--normalize', '--overwrite',
        '--device', 'cpu', '-o', maps], root, capture=True)
    lq = cv2.imread(osp.join(data, 'val', 'LQ', f'{TEST_PHOTO}.png'), cv2.IMREAD_COLOR)
    panel = cv2.imread(osp.join(maps, f'{TEST_PHOTO}_panel.png'), cv2.IMREAD_COLOR)
    figure_path = osp.join(results, f'{TEST_PHOTO}_side_by_side.png')
    cv2.imwrite(figure_path, side_by_side(lq, panel))

    logs = sorted(glob.glob(osp.join(results, 'test_*.log')))
    print(f'\nReal-world demo finished in {time.time() - start:.0f} s.')
    print(f'  training data (HR only):      {data} (train_HR_sub/, meta_info/)')
    print(f'  test pair:                    {osp.join(data, "val")} (HR/, LQ/ = the degraded input)')
    print(f'  training logs, checkpoints:   {osp.join(root, "experiments", esrnet_opt["name"])}, {experiment}')
    print(f'  test log (PSNR/SSIM):         {logs[-1] if logs else "missing"}')
    if logs:
        with open(logs[-1]) as f:
            metrics = re.findall(r'# (\w+): ([\d.]+)', f.read())
        print('    ' + ', '.join(f'{name} {value}' for name, value in metrics) + f' ({TEST_PHOTO}, Y channel)')
    print(f'  SR image:                     {osp.join(results, "visualization", "demo_realworld_test")}')
    print(f'  score maps (HR | SR | M | M stretched): {maps}')
    for line in printed.splitlines():  # "<panel>  M min … max … mean …"
        panel_path, _, numbers = line.partition('  M ')
        print(f'    {osp.basename(panel_path)}: score map M {numbers}')
    print(f'  degraded input | HR | SR | M | M stretched: {figure_path}')



run = entry_point(main)

if __name__ == '__main__':
    sys.exit(run())
