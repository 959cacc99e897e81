"""Collect the test pipeline's results into the paper's tables, the LPIPS/RMSE trade-off plot and validation curves.

    fasrgan-collect --results results -o results/tables
    fasrgan-collect --results results -o results/tables \\
        --train_logs FASRGAN=experiments/FASRGAN_x4_DIV2K Fs-SRGAN=experiments/FsSRGAN_x4_DIV2K --curve_metric lpips

Reads the ``test_*.log`` of every ``<results>/<name>/`` (written by ``fasrgan_basicsr/test.py``, or by
``fasrgan_basicsr/score_outputs.py`` for other methods' published images; each dataset from the newest log that
has it; BasicSR's ``*_archived_*`` copies are skipped; ``<name>_RealSR`` joins the ``<name>`` column as a
``RealSR_V3_test`` row) and writes to the output folder:

- ``table.md`` / ``table.csv``: methods as columns, dataset × metric as rows (the paper's layout; best
  value per row in bold in the Markdown);
- ``tradeoff_<dataset>.png``: LPIPS vs RMSE, one point per method, for each dataset with both metrics;
- with ``--train_logs``: ``curve_<dataset>_<metric>.png``, the validation metric vs iteration of each
  training run (the paper plots PI on Set14; the training option files validate what their ``val.metrics``
  name).

Column labels: the paper's names for this project's test files (e.g. ``FASRGAN_x4`` → FASRGAN), else the
folder name; ``--label NAME=LABEL`` overrides. The files in the output folder are regenerated each run.
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import os
import sys
from os import path as osp

from fasrgan_basicsr.evaluation import results as res
from fasrgan_basicsr.evaluation.result_plots import write_curve_plots, write_tradeoff_plots
from fasrgan_basicsr.utils.cli import ArgumentParser, entry_point


def _pairs(items, what):
    pairs = {}
    for item in items or []:
        if '=' not in item:
            raise ValueError(f'{what} {item!r}: expected NAME=VALUE.')
        key, value = item.split('=', 1)
        pairs[key] = value
    return pairs


def main(argv=None):
    parser = ArgumentParser(description=__doc__)
    parser.add_argument('--results', default='results', help='folder of test results (default: results)')
    parser.add_argument('-o', '--output', required=True, help='folder for the tables and plots (created)')
    parser.add_argument('--methods', nargs='+', help='results folders to show, in this column order')
    parser.add_argument('--datasets', nargs='+', help='datasets to show, in this row order')
    parser.add_argument('--metrics', nargs='+', help='metrics to show, in this order (e.g. psnr ssim pi lpips)')
    parser.add_argument('--label', nargs='+', default=[], metavar='NAME=LABEL', help='column label of a folder')
    parser.add_argument('--no_merge_realsr', action='store_true', help='keep <name>_RealSR as its own column')
    parser.add_argument('--train_logs', nargs='+', default=[], metavar='LABEL=PATH',
                        help='training runs (experiment folders or train_*.log) for validation curves')
    parser.add_argument('--curve_metric', help='metric of the curves (default: pi if logged, else lpips, ...)')
    parser.add_argument('--curve_dataset', help='validation set of the curves (default: every one logged)')
    args = parser.parse_args(argv)
    try:
        labels, runs = _pairs(args.label, '--label'), _pairs(args.train_logs, '--train_logs')
        if not osp.isdir(args.results):
            raise ValueError(f'{args.results}: no such results folder (fasrgan_basicsr/test.py writes results/<name>).')
        skipped = []
        results = res.collect_results(args.results, merge_realsr=not args.no_merge_realsr, skipped=skipped)
        for line in skipped:
            print(f'warning: {line}', file=sys.stderr)
        if not results:
            raise ValueError(f'{args.results}: no test logs (results/<name>/test_<name>_*.log) found.')
        missing = [m for m in args.methods or [] if m not in results]
        if missing:
            raise ValueError(f'--methods: no results for {", ".join(missing)} (found: {", ".join(sorted(results))}).')
        methods, rows = res.table(results, args.methods, args.datasets, args.metrics)
        os.makedirs(args.output, exist_ok=True)
        markdown = res.to_markdown(methods, rows, labels)
        written = []
        for name, text in (('table.md', markdown), ('table.csv', res.to_csv(methods, rows, labels))):
            with open(osp.join(args.output, name), 'w', encoding='utf-8') as f:
                f.write(text)
            written.append(osp.join(args.output, name))
        written += write_tradeoff_plots(results, methods, args.output, labels)
        if runs:
            written += write_curve_plots(runs, args.curve_metric, args.curve_dataset, args.output)
    except (ValueError, OSError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    print(markdown)
    print('\n'.join(f'wrote {p}' for p in written))
    return 0



run = entry_point(main)

if __name__ == '__main__':
    sys.exit(run())
