"""Results tables and plots from the real test pipeline's logs, and validation curves from training logs."""
import copy
import csv
import math
import re

import cv2
import pytest
import torch
from basicsr.archs import build_network
from conftest import TINY_G, run_entry, srmodel_test_options
from test_metrics import stand_in_alexnet  # noqa: F401  (fixture)

from fasrgan_basicsr.cli import collect_results
from fasrgan_basicsr.evaluation import results as res
from fasrgan_basicsr.evaluation.plots import line_plot, nice_ticks, scatter_plot

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def logged(root, name):
    log = sorted((root / 'results' / name).glob(f'test_{name}_*.log'))[-1].read_text()
    return {m: float(v) for m, v in re.findall(r'# (\w+): (\S+)', log.split('Validation tiny_val')[1])}


def test_tables_and_tradeoff_plot_from_the_real_test_pipeline(tiny_data, tmp_path, capsys,
                                                              stand_in_alexnet):  # noqa: F811
    torch.manual_seed(0)
    torch.save({'params': build_network(dict(TINY_G)).state_dict()}, tmp_path / 'g.pth')
    metrics = {'lpips': {'type': 'calculate_lpips', 'net': 'alex', 'version': '0.0', 'better': 'lower'},
               'rmse': {'type': 'calculate_rmse', 'crop_border': 4, 'test_y_channel': True, 'better': 'lower'}}
    for name, network_g, path in (('Bicubic_x4', {'type': 'Bicubic'}, None),
                                  ('FASRGAN_x4', TINY_G, str(tmp_path / 'g.pth'))):
        opt = srmodel_test_options(tiny_data, name, network_g, path, param_key='params')
        opt['val']['metrics'].update(copy.deepcopy(metrics))
        run_entry('test.py', opt, tmp_path, opt_name=f'{name}.yml')
    bicubic, fasrgan = logged(tmp_path, 'Bicubic_x4'), logged(tmp_path, 'FASRGAN_x4')
    assert set(bicubic) == set(fasrgan) == {'psnr', 'ssim', 'lpips', 'rmse'}

    out = tmp_path / 'tables'
    assert collect_results.main(['--results', str(tmp_path / 'results'), '-o', str(out),
                                 '--label', 'FASRGAN_x4=FASRGAN (tiny)']) == 0
    md = (out / 'table.md').read_text().splitlines()
    assert md[0] == '| Dataset | Metric | Bicubic | FASRGAN (tiny) |'
    assert md[1] == '|---|---|---:|---:|' and len(md) == 6
    for line, dataset, metric, name, digits, pick in ((md[2], 'tiny_val', 'psnr', 'PSNR ↑', 2, max),
                                                      (md[3], '', 'ssim', 'SSIM ↑', 4, max),
                                                      (md[4], '', 'lpips', 'LPIPS ↓', 4, min),
                                                      (md[5], '', 'rmse', 'RMSE ↓', 2, min)):
        values = (bicubic[metric], fasrgan[metric])
        cells = [f'**{v:.{digits}f}**' if v == pick(values) else f'{v:.{digits}f}' for v in values]
        assert line == f'| {dataset} | {name} | {cells[0]} | {cells[1]} |'
    assert bicubic['lpips'] != fasrgan['lpips'] and bicubic['psnr'] > fasrgan['psnr']  # a random tiny generator
    with open(out / 'table.csv') as f:
        rows = list(csv.reader(f))
    assert rows[0] == ['dataset', 'metric', 'Bicubic', 'FASRGAN (tiny)']
    assert [(r[0], r[1]) for r in rows[1:]] == [('tiny_val', m) for m in ('psnr', 'ssim', 'lpips', 'rmse')]
    assert float(rows[1][2]) == bicubic['psnr'] and float(rows[4][3]) == fasrgan['rmse']
    assert float(rows[3][2]) == bicubic['lpips']

    plot = out / 'tradeoff_tiny_val.png'
    assert plot.read_bytes()[:8] == PNG_SIGNATURE
    img = cv2.imread(str(plot))
    assert img.shape == (640, 900, 3) and len(set(map(tuple, img.reshape(-1, 3)[::97]))) > 3  # not blank
    assert 'wrote ' + str(plot) in capsys.readouterr().out


def test_table_layout_orders_methods_datasets_and_metrics_as_the_paper():
    results = {
        'FASRGAN_x4': {'Set5': {'psnr': 29.91, 'lpips': 0.0389, 'ssim': 0.851}, 'RealSR_V3_test': {'psnr': 27.0}},
        'my_method': {'Set5': {'psnr': 30.5, 'lpips': math.nan}},
        'Bicubic_x4': {'Set5': {'psnr': 28.42, 'lpips': 0.34, 'ssim': 0.8104}, 'Set14': {'psnr': 26.0}},
    }
    methods, rows = res.table(results)
    assert methods == ['Bicubic_x4', 'FASRGAN_x4', 'my_method']
    assert [(d, m) for d, m, _ in rows] == [('Set5', 'psnr'), ('Set5', 'ssim'), ('Set5', 'lpips'), ('Set14', 'psnr'),
                                           ('RealSR_V3_test', 'psnr')]
    assert rows[2][2][2] is not None and math.isnan(rows[2][2][2])
    assert res.best_index('lpips', rows[2][2]) == 1 and res.best_index('psnr', rows[0][2]) == 2
    md = res.to_markdown(methods, rows)
    assert '|  | LPIPS ↓ | 0.3400 | **0.0389** | nan |' in md
    assert '| RealSR_V3_test | PSNR ↑ | – | **27.00** | – |' in md


def test_realsr_results_join_their_method_and_archives_are_skipped(tmp_path):
    # BasicSR's test pipeline moves an existing results/<name> aside as <name>_archived_<time> (mkdir_and_rename)
    block = '2026-01-01 10:00:00,000 INFO: Validation {}\n\t # psnr: {}\n\t # lpips: {}\n\n'
    for folder, dataset, psnr in (('FASRGAN_x4', 'Set5', 29.9), ('FASRGAN_x4_RealSR', 'RealSR_V3_test', 27.1),
                                  ('FASRGAN_x4_archived_20260101_100000', 'Set5', 1.0)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f'test_{folder}_1.log').write_text(block.format(dataset, psnr, 0.05))
    assert res.collect_results(tmp_path) == {'FASRGAN_x4': {'Set5': {'psnr': 29.9, 'lpips': 0.05},
                                                            'RealSR_V3_test': {'psnr': 27.1, 'lpips': 0.05}}}
    assert set(res.collect_results(tmp_path, merge_realsr=False)) == {'FASRGAN_x4', 'FASRGAN_x4_RealSR'}


TRAIN_LOG = """2026-01-01 10:00:00,000 INFO: {opts}
  val:[
    val_freq: 3000.0
    save_img: False
  ]
2026-01-01 10:00:01,000 INFO: Start training from epoch: 0, iter: 0
2026-01-01 10:00:02,000 INFO: [FASRG..][epoch:  0, iter:   2,000, lr:(1.000e-04,)] [eta: 0:00:00] l_g_pix: 1e-2
2026-01-01 10:00:03,000 INFO: Validation Set14
\t # psnr: 25.0000\tBest: 25.0000 @ 3000 iter
\t # lpips: 0.2000\tBest: 0.2000 @ 3000 iter

2026-01-01 10:00:04,000 INFO: [FASRG..][epoch:  0, iter:   4,000, lr:(1.000e-04,)] [eta: 0:00:00] l_g_pix: 1e-2
2026-01-01 10:00:05,000 INFO: Validation Set14
\t # psnr: 25.5000\tBest: 25.5000 @ 6000 iter
\t # lpips: 0.1500\tBest: 0.1500 @ 6000 iter

"""
RESUMED_LOG = """2026-01-02 10:00:00,000 INFO: opts
  val:[
    val_freq: 3000.0
  ]
2026-01-02 10:00:01,000 INFO: Resuming training from epoch: 0, iter: 6000.
2026-01-02 10:00:03,000 INFO: Validation Set14
\t # psnr: 26.0000\tBest: 26.0000 @ 9000 iter
\t # lpips: 0.1000\tBest: 0.1000 @ 9000 iter

2026-01-02 10:00:04,000 INFO: End of training. Time consumed: 0:00:01
2026-01-02 10:00:04,000 INFO: Save the latest model.
2026-01-02 10:00:05,000 INFO: Validation Set14
\t # psnr: 26.0000\tBest: 26.0000 @ 9001 iter
\t # lpips: 0.1000\tBest: 0.1000 @ 9001 iter
"""


def test_validation_curves_follow_iterations_across_resumes_and_are_plotted(tmp_path):
    exp = tmp_path / 'FASRGAN_x4_DIV2K'
    exp.mkdir()
    (exp / 'train_FASRGAN_x4_DIV2K_20260101_100000.log').write_text(TRAIN_LOG)
    (exp / 'train_FASRGAN_x4_DIV2K_20260102_100000.log').write_text(RESUMED_LOG)
    curves = res.read_training_curves(str(exp))
    assert curves == {'Set14': {'psnr': [(3000, 25.0), (6000, 25.5), (9000, 26.0)],
                                'lpips': [(3000, 0.2), (6000, 0.15), (9000, 0.1)]}}
    out = tmp_path / 'plots'
    results_dir = tmp_path / 'results' / 'FASRGAN_x4'
    results_dir.mkdir(parents=True)
    (results_dir / 'test_FASRGAN_x4_1.log').write_text('x INFO: Validation Set5\n\t # psnr: 29.0\n')
    assert collect_results.main(['--results', str(tmp_path / 'results'), '-o', str(out),
                                 '--train_logs', f'FASRGAN={exp}', '--curve_metric', 'lpips']) == 0
    curve = out / 'curve_Set14_lpips.png'
    assert curve.read_bytes()[:8] == PNG_SIGNATURE and cv2.imread(str(curve)).shape == (640, 900, 3)
    assert collect_results.main(['--results', str(tmp_path / 'results'), '-o', str(out),
                                 '--train_logs', f'FASRGAN={exp}', '--curve_metric', 'pi']) == 2


def test_plots_and_ticks(tmp_path):
    assert nice_ticks(0.031, 0.078) == ([0.03, 0.04, 0.05, 0.06, 0.07, 0.08], 0.03, 0.08)
    ticks, lo, hi = nice_ticks(5.0, 5.0)  # one value: a range around it
    assert lo < 5.0 < hi and len(ticks) >= 2
    path = scatter_plot([('A', 10.0, 0.1), ('B', 12.0, math.nan), ('C', 14.0, 0.05)], 'RMSE', 'LPIPS', 't',
                        tmp_path / 's.png')
    assert cv2.imread(path) is not None
    with pytest.raises(ValueError, match='nothing to plot'):
        scatter_plot([('B', 12.0, math.nan)], 'RMSE', 'LPIPS', 'empty', tmp_path / 'e.png')
    assert not (tmp_path / 'e.png').exists()
    line = line_plot({'run': [(0, 1.0), (5000, 2.0)], 'other': [(0, 2.0)]}, 'iteration', 'PI', 'c', tmp_path / 'l.png')
    assert cv2.imread(line).shape == (640, 900, 3)


def test_collect_results_errors(tmp_path, capsys):
    assert collect_results.main(['--results', str(tmp_path / 'nowhere'), '-o', str(tmp_path / 'o')]) == 2
    assert 'no such results folder' in capsys.readouterr().err
    (tmp_path / 'results').mkdir()
    assert collect_results.main(['--results', str(tmp_path / 'results'), '-o', str(tmp_path / 'o')]) == 2
    assert 'no test logs' in capsys.readouterr().err
    assert not (tmp_path / 'o').exists()
