"""An exclusive lock on a folder a run or a preparation step writes, so that a second writer is refused, not mixed in.

The lock is ``flock`` on ``<parent>/.<name>.lock`` beside the folder (never inside it: BasicSR renames an existing
run folder aside, and a lock inside would move with it). It is held until the process ends — a crash or SIGKILL
releases it too — and a second process asking for it is refused at once with one line naming the folder and the
process that holds it. The lock files stay (empty, hidden): removing them would let two writers lock two files.
Where ``fcntl`` is missing (Windows), locking is not available and nothing is refused.
"""
import os
from os import path as osp

from .errors import UserError

try:
    import fcntl
except ImportError:  # pragma: no cover  (Windows)
    fcntl = None

#: locks held by this process, by the folder they lock (kept open until it exits)
_HELD = {}


class Busy(UserError):
    """Another process is writing the folder."""


def lock_path(folder):
    folder = osp.abspath(folder)
    return osp.join(osp.dirname(folder), f'.{osp.basename(folder)}.lock')


def lock_folder(folder, what='run'):
    """Hold the exclusive lock on ``folder`` for the rest of this process; :class:`Busy` when another process does.

    ``what`` names the writer in the message (``'training run'``, ``'test run'``, ``'output'``). Locking the same
    folder twice in one process is a no-op.
    """
    folder = osp.abspath(folder)
    if fcntl is None or folder in _HELD:
        return
    os.makedirs(osp.dirname(folder), exist_ok=True)
    handle = open(lock_path(folder), 'a+')
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        raise Busy(f'{folder}: another {what} is writing it now{f" (process {holder})" if holder else ""}; wait for '
                   'it to end, or choose another name or output.') from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    _HELD[folder] = handle


def release_folder(folder):
    """Release the lock on ``folder`` if this process holds it (for steps that end before the process does)."""
    handle = _HELD.pop(osp.abspath(folder), None)
    if handle is not None:
        handle.close()
