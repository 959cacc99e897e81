"""What a metric does when its optional dependency or its weights are missing.

A registered metric that raises aborts BasicSR's whole validation loop (``calculate_metric`` is called
for every image with no guard), so the metrics of this package that depend on something optional
(pyiqa for Ma's score, downloadable weights for LPIPS) instead:

1. log one ``ERROR`` line through BasicSR's root logger (so it lands in the run's log file) saying
   what is missing and how to provide it — once per process and cause, not once per image;
2. return ``NaN`` for every image, so BasicSR logs ``# <metric>: nan`` for the dataset;

while every other metric of the option file is computed as usual.
"""
import math

from basicsr.utils import get_root_logger

_REPORTED = set()


def unavailable(key, message):
    """Log ``message`` once per ``key`` and return NaN (the value the metric reports)."""
    if key not in _REPORTED:
        _REPORTED.add(key)
        get_root_logger().error(message)
    return math.nan


def reset():
    """Forget which problems were reported (tests)."""
    _REPORTED.clear()
