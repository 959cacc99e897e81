"""Where the option files shipped with this package are: inside an installed wheel, or the clone's ``options/``.

A wheel carries the repository's ``options/`` folder as ``fasrgan_basicsr/options/`` (``setup.py``); a clone or
an editable install reads the repository's own ``options/``. ``fasrgan-options list`` and ``copy`` use this.
"""
import os
from os import path as osp

from .errors import UserError

PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: the JSON Schema of option files, in the options folder (made by tools/generate_option_docs.py)
SCHEMA = 'options.schema.json'
CANDIDATES = (osp.join(PACKAGE_DIR, 'options'), osp.join(osp.dirname(PACKAGE_DIR), 'options'))


def options_dir():
    """The folder of the shipped option files; UserError when this installation has none."""
    for folder in CANDIDATES:
        if osp.isfile(osp.join(folder, 'train_FASRGAN_x4.yml')):
            return folder
    raise UserError(f'the shipped option files are missing (looked in {" and ".join(CANDIDATES)}); '
                    'reinstall fasrgan_basicsr.')


def shipped_option_file(relative):
    """The path of a shipped option file, ``relative`` to the options folder (``test/test_FASRGAN_x4.yml``)."""
    return osp.join(options_dir(), relative)


def list_option_files():
    """Every shipped option file, relative to the options folder, sorted (``train_*.yml`` first, then folders)."""
    root = options_dir()
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        found += [osp.relpath(osp.join(folder, f), root) for f in sorted(files) if f.endswith('.yml')]
    return sorted(found, key=lambda rel: (os.sep in rel, rel))
