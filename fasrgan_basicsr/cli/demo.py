"""The embedded demo behind ``make demo``: a small FASRGAN trained end to end on CPU in minutes.

1. writes a tiny paired dataset from photographs shipped in scikit-image (``datasets/demo``): four training
   photographs at half size, and the validation photograph (chelsea, 448×300) at full size, so its panels
   show detail;
2. pretrains a small RRDBNet with L1 (``options/demo/train_RRDBNet_PSNR_demo.yml``);
3. trains FASRGAN from it (``options/demo/train_FASRGAN_demo.yml``), validating PSNR/SSIM and saving the
   discriminator's score-map panels at each validation (``val.save_score_map``, also in TensorBoard);
4. evaluates the generator with BasicSR's test pipeline and writes the discriminator's score maps with
   ``fasrgan-score-map`` (HR | SR | M on the absolute scale | M stretched);
5. puts the results side by side (``results/demo_panel.png``): LR | bicubic | the L1 stage | FASRGAN | HR on the
   crop where the L1 and FASRGAN outputs differ most, each with its PSNR and LPIPS, and FASRGAN's score map
   (:mod:`fasrgan_basicsr.demos.comparison`); the same numbers in ``results/demo_summary.md``.

Every step runs the real commands (``fasrgan-train``, ``fasrgan-test``, ``fasrgan-score-map``) as a user would; the
screen gets one line per step, the commands' own output goes to ``results/demo.log`` (``-v``: to the screen too).
``fasrgan-demo`` (``make demo``, ``python -m fasrgan_basicsr.cli.demo``) writes ``datasets/demo``, ``experiments``,
``results`` and ``tb_logger`` under its root (the current folder, or ``--root DIR``, created when missing);
``make clean`` removes exactly what it wrote. ``--iterations N`` trains each network N iterations instead of the
option files' totals (a smoke run: the tests use it).
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import glob
import os
import sys
import time
from os import path as osp

import cv2
from basicsr.archs import build_network

from fasrgan_basicsr.demos.comparison import compare, summary_table
from fasrgan_basicsr.demos.photos import write_paired_folders
from fasrgan_basicsr.demos.steps import Steps, checkpoint, metrics_text, score_map_range, shortened
from fasrgan_basicsr.demos.test_options import write_test_options
from fasrgan_basicsr.generators.loading import load_generator
from fasrgan_basicsr.utils.checkpoint import load_network
from fasrgan_basicsr.utils.cli import ArgumentParser, entry_point, positive_int
from fasrgan_basicsr.utils.files import atomic_write_bytes
from fasrgan_basicsr.utils.option_file import read_option_file
from fasrgan_basicsr.utils.shipped_options import shipped_option_file

TRAIN_PHOTOS = ['astronaut', 'coffee', 'rocket', 'motorcycle']
VAL_PHOTOS = ['chelsea']
STEPS = 6


def main(argv=None):
    parser = ArgumentParser(description=__doc__, root='create')
    parser.add_argument('--iterations', type=positive_int, help='train each network this many iterations '
                        '(default: the option files\' totals)')
    parser.add_argument('-v', '--verbose', action='store_true', help='show everything the commands print (else it '
                        'goes to results/demo.log only)')
    args = parser.parse_args(argv)
    root = os.getcwd()  # the root, entered by the parser
    start = time.time()
    results = osp.join(root, 'results')
    steps = Steps(osp.join(results, 'demo.log'), STEPS, args.verbose)
    print(f'FASRGAN demo under {root} (the commands\' own output: {steps.log_path}; -v shows it here)')

    data = osp.join(root, 'datasets', 'demo')

    def write_data():
        write_paired_folders(osp.join(data, 'train'), TRAIN_PHOTOS, scale=4, downscale=2)
        write_paired_folders(osp.join(data, 'val'), VAL_PHOTOS, scale=4, downscale=1)
    steps.do(f'demo data: {len(TRAIN_PHOTOS)} training photographs, {len(VAL_PHOTOS)} for validation -> {data}',
             write_data)

    psnr_opt, fasrgan_opt = (shipped_option_file(f'demo/train_{name}_demo.yml') for name in ('RRDBNet_PSNR', 'FASRGAN'))
    l1_train, train_opt = read_option_file(psnr_opt), read_option_file(fasrgan_opt)
    l1_iter = args.iterations or l1_train['train']['total_iter']
    total_iter = args.iterations or train_opt['train']['total_iter']
    steps.run(f'L1 stage: {l1_train["name"]}, {l1_iter} iterations', 'train',
              ['-opt', psnr_opt] + shortened(args.iterations), root, result=metrics_text)
    steps.run(f'FASRGAN from the L1 generator: {train_opt["name"]}, {total_iter} iterations', 'train',
              ['-opt', fasrgan_opt] + shortened(args.iterations), root, result=metrics_text)

    test_opt = osp.join(root, 'experiments', 'FASRGAN_demo', 'test_FASRGAN_demo.yml')
    write_test_options(test_opt, train_opt, 'FASRGAN_demo_test', 'demo_val')
    steps.run('test of the FASRGAN generator (BasicSR\'s test pipeline)', 'test', ['-opt', test_opt], root,
              result=lambda out: metrics_text(out).replace('validation ', ''))

    maps = osp.join(results, 'FASRGAN_demo_test', 'score_maps')
    l1_models = osp.join(root, 'experiments', l1_train['name'], 'models')
    models = osp.join(root, 'experiments', 'FASRGAN_demo', 'models')
    net_g_path, net_d_path = checkpoint(models, 'g', total_iter), checkpoint(models, 'd', total_iter)
    val = osp.join(data, 'val')
    steps.run('score maps of the FASRGAN discriminator', 'visualize_score_map', [
        '-opt', fasrgan_opt, '--net_g', net_g_path, '--net_d', net_d_path, '-i', osp.join(val, 'LR_bicubic', 'X4'),
        '--hr', osp.join(val, 'HR'), '--normalize', '--overwrite', '--device', 'cpu', '-o', maps], root,
        result=score_map_range)

    panel_path = osp.join(results, 'demo_panel.png')

    def comparison():
        lr = cv2.imread(osp.join(val, 'LR_bicubic', 'X4', f'{VAL_PHOTOS[0]}x4.png'), cv2.IMREAD_COLOR)
        hr = cv2.imread(osp.join(val, 'HR', f'{VAL_PHOTOS[0]}.png'), cv2.IMREAD_COLOR)
        l1_net, _ = load_generator(checkpoint(l1_models, 'g', l1_iter))
        fasrgan_net, _ = load_generator(net_g_path)
        net_d = load_network(build_network(dict(train_opt['network_d'])), net_d_path, param_keys=('params',)).eval()
        return compare(lr, hr, l1_net, fasrgan_net, net_d, 4, panel_path)
    rows, lpips_note = steps.do('comparison panel: LR | bicubic | L1 stage | FASRGAN | HR | score map', comparison)

    table = summary_table(rows)
    summary = osp.join(results, 'demo_summary.md')
    text = (f'# FASRGAN demo\n\nValidation photograph {VAL_PHOTOS[0]} (×4), PSNR on the Y channel (border 4), LPIPS '
            f'AlexNet v0.0 (lower is better).\n\n{table}\n' + (f'\n{lpips_note}.\n' if lpips_note else ''))
    atomic_write_bytes(summary, text.encode('utf-8'))
    logs = sorted(glob.glob(osp.join(results, 'FASRGAN_demo_test', 'test_*.log')))
    print(f'\nDemo finished in {time.time() - start:.0f} s. On {VAL_PHOTOS[0]} (×4):\n\n{table}\n')
    if lpips_note:
        print(lpips_note + '.\n')
    pictures = [
        ('comparison (LR | bicubic | L1 | FASRGAN | HR | M)', panel_path),
        ('score maps (HR | SR | M | M stretched)', osp.join(maps, f'{VAL_PHOTOS[0]}_panel.png')),
        ('score-map panels during training', osp.join(root, 'experiments', 'FASRGAN_demo', 'visualization')),
        ('training runs (logs, checkpoints)', osp.join(root, 'experiments')),
        ('test log and SR images', logs[-1] if logs else osp.join(results, 'FASRGAN_demo_test')),
        ('this summary', summary)]
    width = max(len(what) for what, _ in pictures) + 1
    for what, path in pictures:
        print(f'  {what + ":":<{width}} {path}')


run = entry_point(main)

if __name__ == '__main__':
    sys.exit(run())
