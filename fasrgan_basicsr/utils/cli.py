"""What every command of this package shares: the user-error type and the runner that reports it.

A mistake in what the user gave (an argument, an option file, a checkpoint, an image) raises
:class:`UserError` whose message names the file, key or option and what was expected. :func:`run_cli`
prints it as one line and returns exit status 2; nothing else a user can cause should reach them as a
traceback.

Exit status of every command: 0 done; 1 some items of a batch failed (each named, the rest done);
2 bad input (nothing, or nothing more, written); 3 training diverged; 130/143 interrupted by
SIGINT/SIGTERM (128 + signal number).
"""
import errno
import sys

#: errno values that mean "the disk (or the file-size limit) is full".
NO_SPACE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
#: errno values that mean "not allowed to write there".
PERMISSION_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS}


class UserError(ValueError):
    """A mistake in the user's input; the message names the file, key or option and what was expected."""


def describe_os_error(exc):
    """One line for a disk-full or permission error (naming the path and, when full, the free space), else None."""
    import shutil
    from os import path as osp

    where = getattr(exc, 'filename', None)
    if exc.errno in NO_SPACE_ERRNOS:
        free = ''
        if where:
            try:
                free = f', {shutil.disk_usage(osp.dirname(osp.abspath(where))).free / 1e9:.2f} GB free there'
            except OSError:
                pass
        return f'{where or "disk"}: out of disk space (or over the file-size limit){free}: {exc.strerror}'
    if exc.errno in PERMISSION_ERRNOS:
        return f'{where or "output"}: no permission to write ({exc.strerror}); choose another place or fix it'
    return None


def run_cli(main, argv=None):
    """Run ``main(argv)``; return its exit status (``None`` counts as 0), user errors as one line and status 2.

    Every weight file loaded meanwhile is loaded weights-only (:func:`checkpoint.weights_only_loading`).
    """
    from .checkpoint import weights_only_loading

    try:
        with weights_only_loading():
            status = main(argv)
    except UserError as err:
        print(f'error: {err}', file=sys.stderr, flush=True)
        return 2
    except OSError as err:
        message = describe_os_error(err)
        if message is None:
            raise
        print(f'error: {message}', file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr, flush=True)
        return 130
    return 0 if status is None else int(status)
