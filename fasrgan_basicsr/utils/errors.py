"""The error every mistake of the user's raises, and one-line descriptions of disk and permission errors.

A mistake in what the user gave (an argument, an option file, a checkpoint, an image, a dataset) raises
:class:`UserError`, whose message names the file, key or option and what was expected. The commands' runner
(:func:`fasrgan_basicsr.utils.cli.run_cli`) and the training runner print it as one line with exit status 2.
"""
import errno
import shutil
from os import path as osp

#: errno values that mean "the disk (or the file-size limit) is full".
NO_SPACE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
#: errno values that mean "not allowed to write there".
PERMISSION_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS}


class UserError(ValueError):
    """A mistake in the user's input; the message names the file, key or option and what was expected."""


def free_space_text(where):
    """``', 1.23 GB free there'`` for the file system holding ``where`` (a file or folder), or ``''``."""
    folder = osp.abspath(where)
    while folder and not osp.isdir(folder):
        parent = osp.dirname(folder)
        if parent == folder:
            return ''
        folder = parent
    try:
        return f', {shutil.disk_usage(folder).free / 1e9:.2f} GB free there'
    except OSError:
        return ''


def describe_os_error(exc):
    """One line for a disk-full or permission error, naming the path (and, when full, the free space); else None."""
    where = getattr(exc, 'filename', None)
    if exc.errno in NO_SPACE_ERRNOS:
        free = free_space_text(where) if where else ''
        return f'{where or "disk"}: out of disk space (or over the file-size limit){free}: {exc.strerror}'
    if exc.errno in PERMISSION_ERRNOS:
        return (f'{where or "output"}: no permission to write ({exc.strerror}); choose another place or fix its '
                'permissions')
    return None
