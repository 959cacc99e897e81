"""Read BasicSR's logs into numbers and lay them out as the paper's tables.

BasicSR logs each validation as::

    2026-01-01 12:00:00,000 INFO: Validation Set5
    \t # psnr: 28.4171\tBest: 28.4171 @ 5000 iter      (the "Best" part only in training logs)
    \t # ssim: 0.8104

- test logs: ``results/<name>/test_<name>_<time>.log`` (``fasrgan_basicsr/test.py``, and
  ``fasrgan_basicsr/score_outputs.py`` for other methods' published images); BasicSR moves an older
  ``results/<name>`` aside as ``<name>_archived_<time>``, which is skipped.
- a metric whose dataset value is the root of BasicSR's mean (``calculate_mse``: the mean MSE is logged, the
  authors' release reports ``sqrt(mean MSE)``) is known by its ``type`` in the options printed at the top of the
  log; its root is added as ``rmse_dataset`` (``rmse_dataset_<name>`` for a metric not called ``mse``) beside
  the logged mean, which is kept as it is (:func:`dataset_root_values`).
- training logs: ``experiments/<name>/train_<name>_<time>.log`` (one per start or resume). A validation
  line does not say its iteration: it is the first multiple of ``val_freq`` (read from the options
  printed at the top of the log) after the previous validation and not before the last logged
  iteration; the validation BasicSR repeats after "End of training" is dropped.
"""
import math
import re
from os import path as osp
from pathlib import Path

from fasrgan_basicsr.metrics.rmse_metric import DATASET_ROOT_METRICS
from fasrgan_basicsr.utils import markdown

VALIDATION = re.compile(r' INFO: Validation (.+?)\s*$')
METRIC = re.compile(r'^\s*# (\w+): (\S+)')
ITER = re.compile(r'\[epoch:\s*\d+, iter:\s*([\d,]+)')
START = re.compile(r'(?:Start|Resuming) training from epoch: \d+, iter: (\d+)')
VAL_FREQ = re.compile(r'^\s+val_freq: (\S+)\s*$')
#: BasicSR's ``dict2str`` of the options: ``<indent><name>:[`` opens a dict, ``<indent>  type: <name>`` inside it
OPTION_DICT = re.compile(r'^(\s*)(\w+):\[\s*$')
OPTION_TYPE = re.compile(r'^(\s*)type: (\w+)\s*$')

# the paper's order; anything else follows in the order met
DATASETS = ('Set5', 'Set14', 'BSD100', 'Urban100', 'Manga109', 'DIV2K_val', 'PIRM_val', 'PIRM_test', 'RealSR_V3_test')
METRICS = ('psnr', 'ssim', 'pi', 'lpips', 'niqe', 'ma', 'rmse', 'rmse_dataset', 'mse')
METRIC_NAMES = {'psnr': 'PSNR', 'ssim': 'SSIM', 'pi': 'PI', 'lpips': 'LPIPS', 'niqe': 'NIQE', 'ma': 'Ma',
                'rmse': 'RMSE', 'rmse_dataset': 'RMSE (√ mean MSE)', 'mse': 'MSE'}
HIGHER_IS_BETTER = {'psnr', 'ssim', 'ma'}
METHODS = {  # results folder (test option ``name``) → column label, in the paper's column order
    'Bicubic_x4': 'Bicubic', 'RRDBNet_PSNR_x4': 'RRDB (PSNR)', 'SRGAN_x4': 'SRGAN', 'SRGAN_FA_x4': 'SRGAN_FA',
    'SRGAN_Fs_x4': 'SRGAN_Fs', 'ESRGAN_x4': 'ESRGAN', 'FASRGAN_x4': 'FASRGAN', 'FsSRGAN_x4': 'Fs-SRGAN',
    'FAFsSRGAN_x4': 'FA+Fs-SRGAN', 'FASRGAN_x4_RealSR_FT': 'FASRGAN (FT)', 'FsSRGAN_x4_RealSR_FT': 'Fs-SRGAN (FT)',
    # ablations (ASCII: the plots' font has no Greek letters)
    'FASRGAN_woFA_x4': 'FASRGAN w/o FA', 'FASRGAN_lambda2_0.05_x4': 'FASRGAN lambda2=0.05',
    'FASRGAN_lambda2_0.005_x4': 'FASRGAN lambda2=0.005', 'FsSRGAN_woFs_x4': 'Fs-SRGAN w/o Fs',
    'FsSRGAN_E2G15_x4': 'Fs-SRGAN E2G15', 'FsSRGAN_E3G14_x4': 'Fs-SRGAN E3G14', 'FsSRGAN_E4G13_x4': 'Fs-SRGAN E4G13'}
REALSR_SUFFIX = '_RealSR'  # results/FASRGAN_x4_RealSR joins the FASRGAN_x4 column (a RealSR_V3_test row)


def _number(text):
    try:
        return float(text)
    except ValueError:
        return math.nan


def parse_validations(lines):
    """``[(line index, dataset, {metric: value}), ...]`` of every validation block in a log."""
    blocks = []
    for i, line in enumerate(lines):
        match = VALIDATION.search(line)
        if not match:
            continue
        values = {}
        for following in lines[i + 1:]:
            metric = METRIC.match(following)
            if not metric:
                break
            values[metric.group(1)] = _number(metric.group(2))
        blocks.append((i, match.group(1), values))
    return blocks


def metric_types(lines):
    """``{name: type}`` of the dicts with a ``type`` in the options a log prints (BasicSR's ``dict2str``)."""
    types = {}
    for i, line in enumerate(lines[:-1]):
        opened, typed = OPTION_DICT.match(line), OPTION_TYPE.match(lines[i + 1])
        if opened and typed and len(typed.group(1)) > len(opened.group(1)):
            types.setdefault(opened.group(2), typed.group(2))
    return types


def dataset_root_name(name):
    """The key under which the root of metric ``name``'s logged mean is reported."""
    return 'rmse_dataset' if name == 'mse' else f'rmse_dataset_{name}'


def dataset_root_values(values, types):
    """``values`` plus ``rmse_dataset`` = √(logged mean) of each metric whose type is in ``DATASET_ROOT_METRICS``."""
    values = dict(values)
    for name, kind in types.items():
        if kind in DATASET_ROOT_METRICS and name in values:
            mean = values[name]
            values[dataset_root_name(name)] = math.sqrt(mean) if math.isfinite(mean) and mean >= 0 else math.nan
    return values


def log_lines(path):
    """The complete lines of a log: a last line without its line break (a log cut off while written) is left out,
    so that a value cut in half (``28.4`` of ``28.4171``) is never read."""
    text = Path(path).read_text(errors='replace')
    lines = text.splitlines()
    return lines[:-1] if lines and not text.endswith('\n') else lines


def read_test_log(path):
    """``{dataset: {metric: value}}`` of one test log (a dataset validated twice: the last one), with the roots of
    the dataset-root metrics added (:func:`dataset_root_values`)."""
    lines = log_lines(path)
    types = metric_types(lines)
    return {dataset: dataset_root_values(values, types) for _, dataset, values in parse_validations(lines)}


def results_logs(folder):
    """The ``test_*.log`` of a results folder, oldest first."""
    return sorted(Path(folder).glob('test_*.log'), key=lambda p: (p.stat().st_mtime, p.name))


def collect_results(results_root, merge_realsr=True, skipped=None):
    """``{method: {dataset: {metric: value}}}`` from the test logs of each ``results_root/<name>``.

    Each dataset's values come from the newest log of the folder that has that dataset: ``test.py`` leaves one
    log per folder (BasicSR moves an earlier run aside), ``score_outputs.py`` adds one per dataset it scores.
    ``<name>_archived_<time>`` folders (BasicSR's copies of earlier runs) are skipped; with ``merge_realsr``,
    ``<name>_RealSR`` results join the ``<name>`` method. Every log left out (unreadable, or holding no validation)
    is named in ``skipped`` (a list, when given), with why.
    """
    results = {}
    skipped = [] if skipped is None else skipped
    for folder in sorted(Path(results_root).iterdir()):
        if not folder.is_dir() or '_archived_' in folder.name:
            continue
        datasets = {}
        for log in results_logs(folder):
            try:
                found = read_test_log(log)
            except OSError as err:
                skipped.append(f'{log}: cannot be read ({err.strerror or err}); left out.')
                continue
            if not found:
                skipped.append(f'{log}: holds no validation results (a run that stopped early?); left out.')
            datasets.update(found)
        method = folder.name
        if merge_realsr and method.endswith(REALSR_SUFFIX):
            method = method[:-len(REALSR_SUFFIX)]
        for dataset, values in datasets.items():
            results.setdefault(method, {}).setdefault(dataset, {}).update(values)
    return results


def ordered(names, preferred):
    names = list(dict.fromkeys(names))
    return [n for n in preferred if n in names] + [n for n in names if n not in preferred]


def table(results, methods=None, datasets=None, metrics=None):
    """The paper's layout: ``(methods, rows)`` with rows ``(dataset, metric, [value or None per method])``.

    Methods are columns (default: the paper's order, then the others alphabetically), rows are each
    dataset × each metric that any method reported for it.
    """
    methods = methods or ordered(sorted(results), list(METHODS))
    all_datasets = [d for m in methods for d in results.get(m, {})]
    datasets = datasets or ordered(all_datasets, DATASETS)
    rows = []
    for dataset in datasets:
        found = [k for m in methods for k in results.get(m, {}).get(dataset, {})]
        for metric in (metrics or ordered(found, METRICS)):
            values = [results.get(m, {}).get(dataset, {}).get(metric) for m in methods]
            if any(v is not None for v in values):
                rows.append((dataset, metric, values))
    return methods, rows


def format_value(metric, value):
    if value is None:
        return '–'
    if math.isnan(value):
        return 'nan'
    return f'{value:.2f}' if metric in ('psnr', 'rmse', 'rmse_dataset', 'mse') else f'{value:.4f}'


def best_index(metric, values):
    """Index of the best finite value of a row (None if none)."""
    finite = [(v, i) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if not finite:
        return None
    return (max(finite) if metric in HIGHER_IS_BETTER else min(finite))[1]


def label(method, labels=None):
    return (labels or {}).get(method) or METHODS.get(method, method)


def to_markdown(methods, rows, labels=None):
    """Markdown table; the best value of each row in bold; arrows say which way is better."""
    out = [markdown.row(['Dataset', 'Metric'] + [label(m, labels) for m in methods]),
           '|---|---|' + '---:|' * len(methods)]
    previous = None
    for dataset, metric, values in rows:
        best = best_index(metric, values)
        cells = [f'**{format_value(metric, v)}**' if i == best else format_value(metric, v)
                 for i, v in enumerate(values)]
        arrow = '↑' if metric in HIGHER_IS_BETTER else '↓'
        name = METRIC_NAMES.get(metric, metric)
        out.append(markdown.row([dataset if dataset != previous else '', f'{name} {arrow}'] + cells))
        previous = dataset
    return '\n'.join(out) + '\n'


def to_csv(methods, rows, labels=None):
    """CSV: ``dataset,metric,<method labels...>``; full precision, empty where a method has no value."""
    import csv
    import io
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    writer.writerow(['dataset', 'metric'] + [label(m, labels) for m in methods])
    for dataset, metric, values in rows:
        writer.writerow([dataset, metric] + ['' if v is None else repr(v) for v in values])
    return buffer.getvalue()


def _options_value(lines, pattern):
    for line in lines:
        match = pattern.match(line)
        if match:
            return _number(match.group(1))
    return None


def read_training_log(path):
    """``{dataset: {metric: [(iteration, value), ...]}}`` of the validations in one training log."""
    lines = Path(path).read_text(errors='replace').splitlines()
    val_freq = _options_value(lines, VAL_FREQ)
    val_freq = int(val_freq) if val_freq and math.isfinite(val_freq) else None
    curves, last_iter, last_val, ended = {}, 0, 0, False
    blocks = {i: (dataset, values) for i, dataset, values in parse_validations(lines)}
    for i, line in enumerate(lines):
        if (match := START.search(line)):
            last_iter = last_val = int(match.group(1))
        elif (match := ITER.search(line)):
            last_iter = int(match.group(1).replace(',', ''))
        elif 'End of training' in line:
            ended = True
        elif i in blocks:
            if ended:
                continue  # BasicSR validates the final weights again after training: a duplicate
            dataset, values = blocks[i]
            if val_freq:
                current = max(math.ceil(last_iter / val_freq), last_val // val_freq + 1) * val_freq
                last_val = current
            else:
                current = last_iter
            for metric, value in values.items():
                curves.setdefault(dataset, {}).setdefault(metric, []).append((current, value))
    return curves


def read_training_curves(path):
    """Validation curves of a run: a training log, or an experiment folder (all its ``train_*.log``, resumes
    included, oldest first; a later log's value for the same iteration wins)."""
    logs = [Path(path)] if osp.isfile(path) else sorted(Path(path).glob('train_*.log'),
                                                         key=lambda p: (p.stat().st_mtime, p.name))
    if not logs:
        raise FileNotFoundError(f'{path}: no training log (train_*.log) here.')
    merged = {}
    for log in logs:
        for dataset, metrics in read_training_log(log).items():
            for metric, points in metrics.items():
                merged.setdefault(dataset, {}).setdefault(metric, {}).update(dict(points))
    return {d: {m: sorted(p.items()) for m, p in metrics.items()} for d, metrics in merged.items()}
