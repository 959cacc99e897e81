"""The results tables' figures: the LPIPS/RMSE trade-off per dataset and the validation curves of training runs."""
from os import path as osp

from . import results as res
from .plots import line_plot, scatter_plot

#: ``(RMSE key, file name prefix, axis label)``: this project's per-image mean, and the release's root of the mean MSE
TRADEOFFS = (('rmse', 'tradeoff', 'RMSE (lower: more accurate)'),
             ('rmse_dataset', 'tradeoff_authors', 'RMSE = √(mean MSE), the release\'s (lower: more accurate)'))


def write_tradeoff_plots(results, methods, out_dir, labels):
    """``tradeoff_<dataset>.png`` for each dataset where some method has finite LPIPS and RMSE (``rmse``), and
    ``tradeoff_authors_<dataset>.png`` where some has LPIPS and the release's ``rmse_dataset`` (never mixed)."""
    written = []
    datasets = res.ordered([d for m in methods for d in results.get(m, {})], res.DATASETS)
    for key, prefix, axis in TRADEOFFS:
        for dataset in datasets:
            points = []
            for method in methods:
                values = results.get(method, {}).get(dataset, {})
                if 'lpips' in values and key in values:
                    points.append((res.label(method, labels), values[key], values['lpips']))
            if not points:
                continue
            try:
                path = osp.join(out_dir, f'{prefix}_{dataset}.png')
                written.append(scatter_plot(points, axis, 'LPIPS (lower: more perceptual)',
                                            f'LPIPS vs RMSE on {dataset}', path))
            except ValueError:  # no finite point for this dataset
                continue
    return written


def write_curve_plots(runs, metric, dataset, out_dir):
    """``curve_<dataset>_<metric>.png`` from ``{label: experiment folder or log}``; returns the paths."""
    curves = {label: res.read_training_curves(path) for label, path in runs.items()}
    datasets = [dataset] if dataset else res.ordered([d for c in curves.values() for d in c], res.DATASETS)
    written = []
    for name in datasets:
        metrics = [metric] if metric else res.ordered([m for c in curves.values() for m in c.get(name, {})],
                                                       ('pi', 'lpips') + res.METRICS)[:1]
        for metric_name in metrics:
            series = {label: c[name][metric_name] for label, c in curves.items() if metric_name in c.get(name, {})}
            if not series:
                continue
            title = f'{res.METRIC_NAMES.get(metric_name, metric_name)} on {name} during training'
            written.append(line_plot(series, 'iteration', res.METRIC_NAMES.get(metric_name, metric_name), title,
                                     osp.join(out_dir, f'curve_{name}_{metric_name}.png')))
    if not written:
        raise ValueError(f'no validation of {metric or "any metric"} on {dataset or "any dataset"} in '
                         f'{", ".join(runs.values())}.')
    return written
