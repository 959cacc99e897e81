"""Import every module of a package folder whose name ends with a suffix.

BasicSR registers a component when its module is imported; like BasicSR and
Real-ESRGAN we import ``*_arch.py``, ``*_loss.py``, ``*_model.py`` and
``*_metric.py`` files automatically.
"""
import importlib
from os import path as osp

from basicsr.utils import scandir


def import_modules(package_file, package_name, suffix):
    """Import ``<package_name>.<stem>`` for each ``<stem><suffix>`` beside ``package_file``."""
    folder = osp.dirname(osp.abspath(package_file))
    stems = sorted(osp.splitext(osp.basename(v))[0] for v in scandir(folder) if v.endswith(suffix))
    return [importlib.import_module(f'{package_name}.{stem}') for stem in stems]
