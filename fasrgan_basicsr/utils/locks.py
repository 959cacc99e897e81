"""An exclusive lock on a folder a run or a preparation step writes, so that a second writer is refused, not mixed in.

The lock is ``flock`` on ``<parent>/.<name>.lock`` beside the folder (never inside it: BasicSR renames an existing
run folder aside, and a lock inside would move with it). It is held until the process ends or releases it — a
crash or SIGKILL releases it too — and a second process asking for it is refused at once with one line naming the
folder and the process that holds it. The holder removes the lock file when it releases it (and at exit), so a
finished run leaves nothing behind; a process that opened the file just before it was removed sees, once it holds
its lock, that the path no longer names the file it locked, and takes the new one instead, so two writers never
hold two files. A crash leaves the file, unlocked, and the next writer takes it over. Where ``fcntl`` is missing
(Windows), locking is not available and nothing is refused.
"""
import atexit
import os
from os import path as osp

from .errors import UserError

try:
    import fcntl
except ImportError:  # pragma: no cover  (Windows)
    fcntl = None

#: locks held by this process, by the folder they lock: ``(open file, its path, the pid that took it)``
_HELD = {}


class Busy(UserError):
    """Another process is writing the folder."""


def lock_path(folder):
    folder = osp.abspath(folder)
    return osp.join(osp.dirname(folder), f'.{osp.basename(folder)}.lock')


def lock_folder(folder, what='run'):
    """Hold the exclusive lock on ``folder`` until :func:`release_folder` or the end of this process; :class:`Busy` when
    another process holds it.

    ``what`` names the writer in the message (``'training run'``, ``'test run'``, ``'output'``). Locking the same
    folder twice in one process is a no-op.
    """
    folder = osp.abspath(folder)
    if fcntl is None or folder in _HELD:
        return
    os.makedirs(osp.dirname(folder), exist_ok=True)
    path = lock_path(folder)
    while True:
        try:
            handle = open(path, 'a+')
        except PermissionError:  # the folder's parent is not writable: the output's own write says so, naming it
            return
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            raise Busy(f'{folder}: another {what} is writing it now{f" (process {holder})" if holder else ""}; wait '
                       'for it to end, or choose another name or output.') from None
        if _names_file(path, handle):
            break
        handle.close()  # its holder removed it while we opened it: lock the file the path names now
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    _HELD[folder] = (handle, path, os.getpid())


def _names_file(path, handle):
    try:
        return os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
    except FileNotFoundError:
        return False


def _release(handle, path, pid):
    if pid == os.getpid() and _names_file(path, handle):  # a forked child inherits the lock but never removes it
        os.remove(path)  # while still holding it: whoever opens the path next makes a new file
    handle.close()


def release_folder(folder):
    """Release the lock on ``folder`` if this process holds it (for steps that end before the process does)."""
    held = _HELD.pop(osp.abspath(folder), None)
    if held is not None:
        _release(*held)


@atexit.register
def release_all():
    """Release every lock this process holds (at exit; their files removed)."""
    for folder in list(_HELD):
        release_folder(folder)
