"""The paper's Table I in its own layout: measured values beside the published ones, and their difference.

Rows are methods (FASRGAN, Fs-SRGAN, FA+Fs-SRGAN, ESRGAN, then any run the user adds), columns PSNR / SSIM / PI /
LPIPS per benchmark (Set5, Urban100, BSD100, DIV2K val, PIRM val: the sets Table I has). Each cell holds the
value measured by this project's test pipeline (a results folder's ``test_*.log``, read by
:mod:`.results`), the value the paper prints (``published_table1.yml`` beside this module: its only source) and
``measured − published``. The default rows read the results of ``options/test/authors_protocol/``, which score
with the authors' protocol, so that the two columns are comparable.
"""
import csv
import io
import math
from os import path as osp

import yaml

from .results import HIGHER_IS_BETTER, METRIC_NAMES

PUBLISHED_FILE = osp.join(osp.dirname(osp.abspath(__file__)), 'published_table1.yml')
TABLE_DATASETS = ('Set5', 'Urban100', 'BSD100', 'DIV2K_val', 'PIRM_val')
TABLE_METRICS = ('psnr', 'ssim', 'pi', 'lpips')
METHODS = ('FASRGAN', 'Fs-SRGAN', 'FA+Fs-SRGAN', 'ESRGAN')
_STEMS = {'FASRGAN': 'FASRGAN', 'Fs-SRGAN': 'FsSRGAN', 'FA+Fs-SRGAN': 'FAFsSRGAN', 'ESRGAN': 'ESRGAN'}
#: which weights the default rows are: → the results folder of each method (``name`` of its authors_protocol file)
WEIGHTS = {
    'release_weights': {m: f'{s}_x4_release_weights_authors_protocol' for m, s in _STEMS.items()},
    'paper': {m: f'{s}_x4_authors_protocol' for m, s in _STEMS.items()},
    # the release profile has no ESRGAN of its own: ESRGAN's released weights, which the paper compares with
    'authors_release': {**{m: f'{s}_x4_authors_release_authors_protocol' for m, s in _STEMS.items()
                           if m != 'ESRGAN'}, 'ESRGAN': 'ESRGAN_x4_release_weights_authors_protocol'},
}


def load_published(path=PUBLISHED_FILE):
    """``(values, source)``: ``{method: {dataset: {metric: value}}}`` of the attributed columns, and the ``source``."""
    with open(path, encoding='utf-8') as f:
        data = yaml.safe_load(f)
    values = {}
    for index, method in enumerate(data['columns']):
        if method is None:
            continue
        values[method] = {dataset: {metric: float(row[index]) for metric, row in metrics.items()}
                          for dataset, metrics in data['rows'].items()}
    return values, data['source']


def cells(measured, published, datasets=TABLE_DATASETS, metrics=TABLE_METRICS):
    """``[(dataset, metric, measured or None, published or None, difference or None)]`` of one row."""
    out = []
    for dataset in datasets:
        for metric in metrics:
            got = (measured or {}).get(dataset, {}).get(metric)
            want = (published or {}).get(dataset, {}).get(metric)
            diff = got - want if got is not None and want is not None and math.isfinite(got) else None
            out.append((dataset, metric, got, want, diff))
    return out


def build(results, rows, published, datasets=TABLE_DATASETS, metrics=TABLE_METRICS):
    """The table: ``[(label, results folder, published method or None, cells)]``.

    Args:
        results (dict): ``{folder: {dataset: {metric: value}}}`` (:func:`.results.collect_results`).
        rows (list): ``[(label, folder, published method or None)]``; a folder without results gives empty
            measured cells.
        published (dict): :func:`load_published`'s values.
    """
    return [(label, folder, method, cells(results.get(folder), published.get(method) if method else None, datasets,
                                          metrics)) for label, folder, method in rows]


def _digits(metric):
    return 2 if metric == 'psnr' else 4


def _number(metric, value, signed=False):
    if value is None:
        return '–'
    if math.isnan(value):
        return 'nan'
    return f'{value:+.{_digits(metric)}f}' if signed else f'{value:.{_digits(metric)}f}'


def column_name(dataset, metric):
    return f'{dataset} {METRIC_NAMES.get(metric, metric)}'


def to_markdown(table, datasets=TABLE_DATASETS, metrics=TABLE_METRICS):
    """One row per method; each cell ``measured / published (Δ measured − published)``; arrows: which way is better."""
    columns = [(d, m) for d in datasets for m in metrics]
    out = ['| Method | ' + ' | '.join(f'{column_name(d, m)} {"↑" if m in HIGHER_IS_BETTER else "↓"}'
                                     for d, m in columns) + ' |',
           '|---|' + '---:|' * len(columns)]
    for label, _, _, row in table:
        parts = []
        for _, metric, got, want, diff in row:
            text = f'{_number(metric, got)} / {_number(metric, want)}'
            parts.append(text + (f' ({_number(metric, diff, signed=True)})' if diff is not None else ''))
        out.append(f'| {label} | ' + ' | '.join(parts) + ' |')
    return '\n'.join(out) + '\n'


def to_csv(table, datasets=TABLE_DATASETS, metrics=TABLE_METRICS):
    """``method, results, then <dataset> <metric> measured / published / difference`` per column; full precision."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    header = ['method', 'results']
    for d in datasets:
        for m in metrics:
            header += [f'{column_name(d, m)} {what}' for what in ('measured', 'published', 'difference')]
    writer.writerow(header)
    for label, folder, _, row in table:
        writer.writerow([label, folder] + ['' if v is None else repr(v) for cell in row for v in cell[2:]])
    return buffer.getvalue()


def notes(table, source, weights):
    """The lines under the Markdown table: where the numbers come from, and which rows have no results."""
    lines = [f'Measured / published (measured − published). Published: {source["table"]} ({source["text"]}; '
             f'page: {source["page"] or "not in the text"}), the columns the text attributes. '
             f'Default rows: `--weights {weights}`.']
    for label, folder, method, row in table:
        if all(cell[2] is None for cell in row):
            lines.append(f'- {label}: no results in `{folder}` (run its test option file, '
                         f'options/test/authors_protocol/).')
        elif any(cell[2] is not None and math.isnan(cell[2]) for cell in row if cell[1] == 'pi'):
            lines.append(f'- {label}: PI is nan: it needs pyiqa (pip install -e .[pi]) and its NRQM model.')
        if method is None:
            lines.append(f'- {label}: no published row (not a method of Table I).')
    return '\n'.join(lines) + '\n'

