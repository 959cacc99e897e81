"""Writing a file so that its final path is complete or untouched: a temporary name, flushed, then renamed."""
import os
import secrets
import stat
from os import path as osp

#: temporary files of :func:`atomic_write_bytes`: ``.<final name>.<random hex>.tmp``
TMP_SUFFIX = '.tmp'


def temporary_path(path):
    """A fresh temporary name in ``path``'s folder: ``.<name>.<random hex>.tmp``."""
    return osp.join(osp.dirname(osp.abspath(path)), f'.{osp.basename(path)}.{secrets.token_hex(4)}{TMP_SUFFIX}')


def atomic_write_bytes(path, data):
    """``data`` (bytes) to a temporary file in ``path``'s folder, flushed to disk, then renamed to ``path``.

    A full disk raises ``OSError(ENOSPC, ..., path)`` naming the final path; no temporary file is left.
    """
    tmp = temporary_path(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for any new file
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        if err.filename in (None, tmp):  # name the file the user asked for, not the temporary one
            raise OSError(err.errno, err.strerror, path) from err
        raise
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def file_kind(path):
    """What ``path`` is, following symbolic links: ``'file'``, ``'folder'``, ``'named pipe (FIFO)'``,
    ``'device'``, ``'socket'``, ``'broken symbolic link'`` or ``'missing'``."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return 'broken symbolic link' if osp.islink(path) else 'missing'
    except OSError:
        return 'unreadable'
    if stat.S_ISREG(mode):
        return 'file'
    if stat.S_ISDIR(mode):
        return 'folder'
    if stat.S_ISFIFO(mode):
        return 'named pipe (FIFO)'
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return 'device'
    if stat.S_ISSOCK(mode):
        return 'socket'
    return 'special file'


def regular_file_problem(path, what='regular file'):
    """Why ``path`` is not a regular file to read as a ``what`` (one line naming it), or None when it is one.

    A named pipe or a device would block a reader or never end (``/dev/zero``), so only regular files are read.
    """
    kind = file_kind(path)
    if kind == 'file':
        return None
    if kind == 'missing':
        return f'{path}: no such {what}.'
    return f'{path}: is a {kind}, not a {what}.'
