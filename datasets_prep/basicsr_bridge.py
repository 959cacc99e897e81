"""BasicSR's own utilities used by the scripts, imported only when a step needs them (``--help`` stays fast).

``import fasrgan_basicsr`` applies the package's compatibility layer first: without it ``import basicsr`` fails
on current torchvision.
"""
import fasrgan_basicsr  # noqa: F401  (makes basicsr importable on current torchvision)

# isort: split
from basicsr.utils.lmdb_util import LmdbMaker
from basicsr.utils.matlab_functions import imresize

__all__ = ['LmdbMaker', 'imresize']
