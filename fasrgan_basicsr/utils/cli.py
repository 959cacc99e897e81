"""The one scaffold every command of this package runs in: its argument parser, its root and its error handling.

- :class:`ArgumentParser`: argparse's parser whose errors are a :class:`UserError` (one ``error:`` line, exit 2),
  with ``--root`` (:mod:`~fasrgan_basicsr.utils.run_root`) added to every command.
- :func:`run_cli`: runs a command's ``main(argv)``; user errors, a full disk and a refused permission become one
  line and exit status 2, Ctrl-C exit status 130. Every weight file loaded meanwhile is loaded weights-only.

Exit status of every command: 0 done; 1 some items of a batch failed (each named, the rest done);
2 bad input (nothing, or nothing more, written); 3 training diverged; 130/143 interrupted by
SIGINT/SIGTERM (128 + signal number).
"""
import argparse
import os
import sys

from .checkpoint import weights_only_loading
from .errors import UserError, describe_os_error
from .run_root import add_root_argument, enter_root


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser with ``--root``, whose errors (a missing or malformed argument) are a :class:`UserError`."""

    def __init__(self, *args, root=True, **kwargs):
        """``root``: True, ``--root`` (entered once the arguments are parsed); ``'create'``, the same, made when missing
        (a command that only writes, such as the demos); False, none."""
        kwargs.setdefault('formatter_class', argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)
        self.root = root
        if root:
            add_root_argument(self, create=root == 'create')

    def error(self, message):
        raise UserError(f'{message} (see --help)')

    def parse_args(self, args=None, namespace=None):
        parsed = super().parse_args(args, namespace)
        if self.root:
            enter_root(parsed.root, create=self.root == 'create')
        return parsed


def positive_int(text):
    """argparse type: an integer >= 1."""
    return _integer_at_least(text, 1)


def non_negative_int(text):
    """argparse type: an integer >= 0."""
    return _integer_at_least(text, 0)


def _integer_at_least(text, low):
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low:
        raise argparse.ArgumentTypeError(f'expected an integer >= {low}, got {text}')
    return value


def error_line(message):
    """Print ``error: <message>`` on stderr."""
    print(f'error: {message}', file=sys.stderr, flush=True)


def run_cli(main, argv=None, interrupted='interrupted'):
    """Run ``main(argv)``; return its exit status (``None`` counts as 0), user errors as one line and status 2.

    ``interrupted``: what is printed on Ctrl-C (status 130).
    """
    try:
        with weights_only_loading():
            status = main(argv)
    except UserError as err:
        error_line(err)
        return 2
    except OSError as err:
        message = describe_os_error(err)
        if message is None:
            raise
        error_line(message)
        return 2
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr, flush=True)
        return 130
    except BrokenPipeError:  # the reader of stdout went away (`| head`): nothing more to say to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0 if status is None else int(status)


def entry_point(main, interrupted='interrupted'):
    """A command's console entry point (``setup.py``'s ``console_scripts``): ``main`` under :func:`run_cli`."""
    def run(argv=None):
        return run_cli(main, argv, interrupted)
    run.__doc__ = f'Run {main.__module__}.main on the command line (or ``argv``); returns the exit status.'
    return run


def moved(old, new, run):
    """Run a command reached through its old path ``old``, after a note that it is now ``new`` (until release 0.3)."""
    print(f'note: {old} has moved to `{new}` and will be removed in release 0.3; it still works until then.',
          file=sys.stderr, flush=True)
    return run()
