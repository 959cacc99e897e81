"""The results tables' figures: the LPIPS/RMSE trade-off per dataset and the validation curves of training runs."""
from os import path as osp

from . import results as res
from .plots import line_plot, scatter_plot


def write_tradeoff_plots(results, methods, out_dir, labels):
    """``tradeoff_<dataset>.png`` for each dataset where some method has finite LPIPS and RMSE."""
    written = []
    datasets = res.ordered([d for m in methods for d in results.get(m, {})], res.DATASETS)
    for dataset in datasets:
        points = []
        for method in methods:
            values = results.get(method, {}).get(dataset, {})
            if 'lpips' in values and 'rmse' in values:
                points.append((res.label(method, labels), values['rmse'], values['lpips']))
        try:
            written.append(scatter_plot(points, 'RMSE (lower: more accurate)', 'LPIPS (lower: more perceptual)',
                                        f'LPIPS vs RMSE on {dataset}', osp.join(out_dir, f'tradeoff_{dataset}.png')))
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
