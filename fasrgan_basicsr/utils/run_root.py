"""The one path rule: every relative path resolves against one root.

The root is the current directory, or the folder that ``--root DIR`` (every command has it) or the environment
variable ``FASRGAN_ROOT`` names (``--root`` wins). A command enters its root — makes it the working directory —
before it reads anything, so relative paths in an option file (dataroots, ``pretrain_network_*``,
``resume_state``) and on the command line (``-opt``, ``-i``, ``-o``, ...), inputs and outputs alike, and the
folders a run writes (``experiments/``, ``results/``, ``tb_logger/``) are all relative to the same folder.
That is also where BasicSR looks for ``experiments/pretrained_models/vgg19-dcbb9e9d.pth``.

A two-stage workflow — an L1 stage, then a GAN stage whose ``pretrain_network_g`` is
``experiments/<L1 run>/models/net_g_latest.pth`` — therefore works unchanged from any folder, as long as both
stages run with the same root.
"""
import os
from os import path as osp

from .errors import UserError

ENV = 'FASRGAN_ROOT'


def add_root_argument(parser, create=False):
    """Add ``--root DIR`` to an argparse parser (``create``: its help says a missing folder is made)."""
    parser.add_argument('--root', default=None, metavar='DIR',
                        help=f'folder every relative path resolves against, inputs and outputs alike (default: ${ENV} '
                        'if set, else the current folder' + ('; created when missing)' if create else ')'))


def chosen_root(root=None):
    """The root folder: ``root`` (``--root``), else ``$FASRGAN_ROOT``, else the current directory (absolute)."""
    return osp.abspath(osp.expanduser(root or os.environ.get(ENV) or os.getcwd()))


def enter_root(root=None, create=False):
    """Make the root (:func:`chosen_root`) the working directory and return it; UserError when it is no folder.

    ``create``: make a missing root (a command that only writes, such as the demo).
    """
    folder = chosen_root(root)
    option = '--root' if root else f'${ENV}' if os.environ.get(ENV) else None
    if create:
        os.makedirs(folder, exist_ok=True)
    if not osp.isdir(folder):
        what = 'is a file' if osp.exists(folder) else 'does not exist'
        raise UserError(f'{option} {folder}: {what}; expected the folder relative paths resolve against.')
    if folder != os.getcwd():  # already there: nothing to enter (and no search permission on it needed)
        os.chdir(folder)
    return folder


def shown_path(path):
    """``path`` quoted for a message; a relative one with the root it was resolved against (the current folder once
    :func:`enter_root` ran), so that a path looked for in the wrong folder says which folder."""
    text = str(path)
    return repr(text) if osp.isabs(text) else f'{text!r} (under the root {os.getcwd()})'
