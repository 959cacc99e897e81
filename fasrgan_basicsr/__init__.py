"""FASRGAN, Fs-SRGAN and FA+Fs-SRGAN as a BasicSR 1.4.2 plugin.

``import fasrgan_basicsr`` applies the compatibility layer (:mod:`fasrgan_basicsr.compat`) and
registers this package's archs, losses, models and metrics into BasicSR's registries,
so BasicSR option files can name them like any built-in component.
"""
from . import compat

compat.apply()

from . import archs, losses, metrics, models  # noqa: E402,F401  (import registers)
from .version import __version__  # noqa: E402,F401
