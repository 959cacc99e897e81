"""Run one of BasicSR's pipelines with the plugin registered, the options read safely and checked first.

Every mistake of the user's — the option file, a checkpoint, a dataset sample, a full disk — ends in
one message naming the file or key (also written into the run's log once that exists) and an exit
status that says what happened (see :mod:`fasrgan_basicsr.utils.cli`): 2 bad input, 3 diverged,
128 + signal number when interrupted. Relative paths resolve against the run's root
(:mod:`fasrgan_basicsr.utils.run_root`), which the first line of the run's log names.
"""
import argparse
import functools
import logging
import os
import sys

import basicsr.data
import basicsr.test
import basicsr.train

from fasrgan_basicsr.utils.checkpoint import weights_only_loading
from fasrgan_basicsr.utils.divergence import DivergenceError
from fasrgan_basicsr.utils.early_warnings import take_pending
from fasrgan_basicsr.utils.errors import UserError, describe_os_error
from fasrgan_basicsr.utils.locks import lock_folder
from fasrgan_basicsr.utils.run_root import add_root_argument, enter_root

from . import dataset_check, resilience, validation
from .options import parse_options
from .options_check import check_options

#: the option dict of this process's run, once parsed and checked
RUN = {}
#: BasicSR's own get_env_info of each pipeline module (run() may be called more than once in a process)
_GET_ENV_INFO = {module.__name__: module.get_env_info for module in (basicsr.train, basicsr.test)}


def checked_parse_options(root_path, is_train=True, argv=None):
    """:func:`parse_options`, then every check of :func:`check_options`, before any work starts; then the run's
    folder (``experiments/<name>`` or ``results/<name>``) is locked for this process (:mod:`~fasrgan_basicsr.utils.
    locks`): a second run under the same name is refused while this one lives."""
    opt, args = parse_options(root_path, is_train=is_train, argv=argv)
    check_options(opt, args.opt)
    opt['path'].pop('allow_random_init', None)  # read by the check only; BasicSR makes a folder of every path key
    if opt.get('rank', 0) == 0:
        run_folder = opt['path']['experiments_root' if is_train else 'results_root']
        lock_folder(run_folder, 'training run' if is_train else 'test run')
    RUN['opt'] = opt
    return opt, args


def opening_lines(get_env_info):
    """BasicSR's ``get_env_info``, which both pipelines log first thing into the run's new log file: before it,
    the root and where this run writes, then the warnings given before the log existed; and from then on a log
    record that cannot be written (a full disk) stops the run instead of printing a traceback."""
    @functools.wraps(get_env_info)
    def wrapped():
        logger = logging.getLogger('basicsr')
        opt = RUN.get('opt') or {}
        paths = opt.get('path') or {}
        writes = paths.get('experiments_root') or paths.get('results_root')
        logger.info(f'root: {os.getcwd()} (relative paths resolve here); this run writes {writes}')
        for message in take_pending():
            logger.warning(message)
        validation.raise_on_log_errors()
        return get_env_info()
    return wrapped


def report(message, level=logging.ERROR):
    """``message`` into the run's log (BasicSR's logger prints it on stderr too), or on stderr before one exists."""
    logger = logging.getLogger('basicsr')
    if any(isinstance(h, logging.FileHandler) for h in logger.handlers):
        try:
            logger.log(level, message)
            return
        except OSError:  # the log file cannot take it (a full disk): the terminal still can
            pass
    print(message, file=sys.stderr, flush=True)


def user_message(err):
    """The error's own message, also when a DataLoader worker re-raised it with the worker's traceback."""
    text = str(err)
    if 'Original Traceback' in text:
        last = text.strip().splitlines()[-1]
        text = last.split(': ', 1)[1] if ': ' in last else last
    return text


def root_of(argv=None):
    """Enter the root that ``--root`` in ``argv`` (default: the command line), ``$FASRGAN_ROOT`` or the current
    folder names; returns it."""
    parser = argparse.ArgumentParser(add_help=False)
    add_root_argument(parser)
    known, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    return enter_root(known.root)


def run(pipeline_module, pipeline_name, argv=None):
    """Call ``pipeline_module.<pipeline_name>(root)`` on ``argv`` (default: the command line); known failures exit
    with a message, no traceback."""
    pipeline_module.parse_options = functools.partial(checked_parse_options, argv=argv)
    pipeline_module.build_dataset = dataset_check.wrap_build_dataset(basicsr.data.build_dataset)
    if pipeline_module.__name__ in _GET_ENV_INFO:
        pipeline_module.get_env_info = opening_lines(_GET_ENV_INFO[pipeline_module.__name__])
    validation.install()
    with weights_only_loading():
        try:
            getattr(pipeline_module, pipeline_name)(root_of(argv))
        except UserError as err:
            report(f'error: {user_message(err)}')
            sys.exit(2)
        except DivergenceError as err:
            report(f'error: {err}')
            sys.exit(3)
        except resilience.TrainingInterrupted as err:
            report(str(err), logging.WARNING)
            sys.exit(128 + int(err.signum))
        except OSError as err:
            message = describe_os_error(err)
            if message is None:
                raise
            report(f'error: {message}; the checkpoints written before are intact.')
            sys.exit(2)


def train(argv=None):
    """BasicSR's training pipeline with every check and hook of this package, on ``argv`` (default: the command
    line); exits with the status of :mod:`fasrgan_basicsr.utils.cli` on failure."""
    resilience.install()
    run(basicsr.train, 'train_pipeline', argv)


def test(argv=None):
    """BasicSR's test pipeline with every check of this package, on ``argv`` (default: the command line)."""
    run(basicsr.test, 'test_pipeline', argv)
