"""Validation and testing that never record a wrong number and never lose a write error.

:func:`install` (the training and test runners call it) changes three things of BasicSR's validation:

- **A metric that cannot be computed is named, never recorded as a best.** BasicSR sums each metric over the images
  and keeps the best mean; a NaN (an image smaller than the metric's border crop, a missing optional package) made
  the log say ``Best: -inf``. A non-finite mean is logged as an error naming the dataset and the metric, the best is
  left as it was, and the metric's log line says it was not computed instead of showing a best. (Before any work,
  the option check refuses images smaller than a metric's crop.)
- **Images are written whole or reported.** BasicSR's ``imwrite`` ignored what OpenCV says; here the image is
  encoded in memory and written through a temporary file, so a full disk is an ``OSError`` naming the file (the
  runner reports it in one line) and no truncated image is left.
- **A log file that cannot be written stops the run.** Python's logging prints a traceback per failed record and
  goes on; the run's file handler raises instead, so a full disk during validation ends the run in one line.
"""
import logging
import math

import basicsr.models.sr_model as sr_model
from basicsr.models.sr_model import SRModel
from basicsr.utils import get_root_logger

from fasrgan_basicsr.utils.image_files import write_image_file

_ORIGINAL = {}


def update_best_metric_result(self, dataset_name, metric, val, current_iter):
    """``SRModel._update_best_metric_result`` that records no non-finite value (it names it instead)."""
    if not math.isfinite(val):
        get_root_logger().error(f'{dataset_name}: {metric} is {val} (it could not be computed on some image: an image '
                                'smaller than its crop_border, or a metric whose package or weights are missing); '
                                'not recorded as a best.')
        return
    return _ORIGINAL['update_best'](self, dataset_name, metric, val, current_iter)


def log_validation_metric_values(self, current_iter, dataset_name, tb_logger):
    """``SRModel._log_validation_metric_values``: the block ``# <metric>: <value>  Best: <best> @ <iter> iter`` in the
    log (and TensorBoard), where a metric that could not be computed says so instead of a "Best" it never had."""
    bests = getattr(self, 'best_metric_results', None)
    lines = [f'Validation {dataset_name}']
    for metric, value in self.metric_results.items():
        line = f'\t # {metric}: {value:.4f}'
        if not math.isfinite(value):
            line += '\tnot computed (the error above says why): no best'
        elif bests is not None:
            best = bests[dataset_name][metric]
            line += f'\tBest: {best["val"]:.4f} @ {best["iter"]} iter'
        lines.append(line)
    get_root_logger().info('\n'.join(lines) + '\n')
    if tb_logger:
        for metric, value in self.metric_results.items():
            tb_logger.add_scalar(f'metrics/{dataset_name}/{metric}', value, current_iter)


def imwrite(img, file_path, params=None, auto_mkdir=True):
    """BasicSR's ``imwrite``, written whole or not at all (``utils.image_files.write_image_file``)."""
    write_image_file(file_path, img, params)


def _raise_logging_error(record):
    """A log record the run's file handler could not write: raise what went wrong (a full disk names its file)."""
    raise  # noqa: PLE0704  (called by logging.Handler.handle inside its except block)


def raise_on_log_errors():
    """Make the run's log file handlers raise their write errors (call once the run's log file is open)."""
    for handler in logging.getLogger('basicsr').handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handleError = _raise_logging_error


def install():
    """Install the validation fixes for this process (idempotent)."""
    if _ORIGINAL:
        return
    _ORIGINAL['update_best'] = SRModel._update_best_metric_result
    SRModel._update_best_metric_result = update_best_metric_result
    SRModel._log_validation_metric_values = log_validation_metric_values
    sr_model.imwrite = imwrite
