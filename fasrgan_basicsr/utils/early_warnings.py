"""Warnings given before a run's log file exists, written into that log as soon as it does.

:func:`warn_early` prints the warning on stderr at once and keeps it in :data:`PENDING_LOG`; the training and
test runners write what it holds into the run's log right after BasicSR opens it.
"""
import sys

#: warnings given before the run's log file exists, oldest first
PENDING_LOG = []


def warn_early(message):
    """A warning on stderr now, and in the run's log file as soon as that exists."""
    print(f'WARNING: {message}', file=sys.stderr, flush=True)
    PENDING_LOG.append(message)


def take_pending():
    """The pending warnings, oldest first; the list is emptied."""
    messages = list(PENDING_LOG)
    PENDING_LOG.clear()
    return messages
