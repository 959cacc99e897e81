"""Writing a file so that its final path is complete or untouched: a temporary name, flushed, then renamed."""
import os
import secrets
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
