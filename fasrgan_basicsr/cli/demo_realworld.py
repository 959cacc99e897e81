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
import os
import sys
import time
from os import path as osp

import cv2

from fasrgan_basicsr.demos.realworld import (
    DEGRADATION_SEED,
    ESRNET_OPT,
    FA_OPT,
    TEST_NAME,
    TEST_PHOTO,
    data_root,
    degradation_settings,
    side_by_side,
    write_test_pair,
    write_training_photos,
)
from fasrgan_basicsr.demos.steps import Steps, checkpoint, metrics_text, score_map_range, shortened
from fasrgan_basicsr.demos.test_options import write_test_options
from fasrgan_basicsr.utils.cli import ArgumentParser, entry_point, positive_int
from fasrgan_basicsr.utils.image_files import write_image_file
from fasrgan_basicsr.utils.option_file import read_option_file
from fasrgan_basicsr.utils.shipped_options import shipped_option_file


def main(argv=None):
    parser = ArgumentParser(description=__doc__, root='create')
    parser.add_argument('--iterations', type=positive_int, help='train each network this many iterations '
                        '(default: the option files\' totals)')
    parser.add_argument('-v', '--verbose', action='store_true', help='show everything the commands print (else it '
                        'goes to results/demo_realworld.log only)')
    args = parser.parse_args(argv)
    iterations = args.iterations
    root = os.getcwd()  # the root, entered by the parser
    start = time.time()
    steps = Steps(osp.join(root, 'results', 'demo_realworld.log'), 6, args.verbose)
    print(f'Real-world demo under {root} (the commands\' own output: {steps.log_path}; -v shows it here)')
    esrnet_path, fa_path = shipped_option_file(ESRNET_OPT), shipped_option_file(FA_OPT)
    esrnet_opt, fa_opt = read_option_file(esrnet_path), read_option_file(fa_path)

    data = data_root(root)
    write_training_photos(osp.join(data, 'train_HR'))
    steps.run(f'HR-only training data: 400×400 sub-images and meta-info of {osp.join(data, "train_HR")}',
              'prepare_realesrgan', ['--input', osp.join(data, 'train_HR'), '--output', data, '--workers', '1',
                                     '--overwrite'], root)
    drawn = steps.do(f'test pair {osp.join(data, "val")} ({TEST_PHOTO}, degraded with seed {DEGRADATION_SEED})',
                     write_test_pair, osp.join(data, 'val'), degradation_settings(esrnet_opt), result=str)

    esrnet_iter = iterations or esrnet_opt['train']['total_iter']
    total_iter = iterations or fa_opt['train']['total_iter']
    steps.run(f'L1 stage on degraded inputs: {esrnet_opt["name"]}, {esrnet_iter} iterations', 'train',
              ['-opt', esrnet_path] + shortened(iterations), root, result=metrics_text)
    steps.run(f'RealESRGAN_FA from it: {fa_opt["name"]}, {total_iter} iterations', 'train',
              ['-opt', fa_path] + shortened(iterations), root, result=metrics_text)

    experiment = osp.join(root, 'experiments', fa_opt['name'])
    test_opt = osp.join(experiment, f'test_{fa_opt["name"]}.yml')
    write_test_options(test_opt, fa_opt, TEST_NAME, 'demo_realworld_test')
    test_output = steps.run('test on the degraded photograph (BasicSR\'s test pipeline)', 'test', ['-opt', test_opt],
                            root, result=lambda out: metrics_text(out).replace('validation ', ''))

    results = osp.join(root, 'results', TEST_NAME)
    maps = osp.join(results, 'score_maps')
    models = osp.join(experiment, 'models')
    steps.run('score map of the discriminator', 'visualize_score_map', [
        '-opt', fa_path, '--net_g', checkpoint(models, 'g', total_iter), '--net_d', checkpoint(models, 'd', total_iter),
        '-i', osp.join(data, 'val', 'LQ'), '--hr', osp.join(data, 'val', 'HR'), '--normalize', '--overwrite',
        '--device', 'cpu', '-o', maps], root, result=score_map_range)
    lq = cv2.imread(osp.join(data, 'val', 'LQ', f'{TEST_PHOTO}.png'), cv2.IMREAD_COLOR)
    panel = cv2.imread(osp.join(maps, f'{TEST_PHOTO}_panel.png'), cv2.IMREAD_COLOR)
    figure_path = osp.join(results, f'{TEST_PHOTO}_side_by_side.png')
    write_image_file(figure_path, side_by_side(lq, panel))

    logs = sorted(glob.glob(osp.join(results, 'test_*.log')))
    metrics = metrics_text(test_output).replace('validation ', '')
    print(f'\nReal-world demo finished in {time.time() - start:.0f} s. On {TEST_PHOTO}, degraded ({drawn}): '
          f'{metrics or "no metrics logged"}.\n')
    lines = [
        ('degraded input | HR | SR | M | M stretched', figure_path),
        ('score maps (HR | SR | M | M stretched)', maps),
        ('training data (HR only)', f'{data} (train_HR_sub/, meta_info/)'),
        ('test pair', f'{osp.join(data, "val")} (HR/, LQ/ = the degraded input)'),
        ('training runs (logs, checkpoints)', f'{osp.join(root, "experiments", esrnet_opt["name"])}, {experiment}'),
        ('test log and SR image', logs[-1] if logs else results)]
    width = max(len(what) for what, _ in lines) + 1
    for what, path in lines:
        print(f'  {what + ":":<{width}} {path}')


run = entry_point(main)

if __name__ == '__main__':
    sys.exit(run())
