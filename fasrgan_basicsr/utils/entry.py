"""Run one of BasicSR's pipelines with the plugin registered, the options read safely and checked first.

Every mistake of the user's — the option file, a checkpoint, a dataset sample, a full disk — ends in
one message naming the file or key (also written into the run's log once that exists) and an exit
status that says what happened (see :mod:`fasrgan_basicsr.utils.cli`): 2 bad input, 3 diverged,
128 + signal number when interrupted.
"""
import logging
import os
import sys
from os import path as osp

import basicsr.data
import basicsr.test
import basicsr.train

from . import dataset_check, resilience
from .checkpoint import weights_only_loading
from .cli import UserError, describe_os_error
from .options import parse_options
from .options_check import check_options

# experiments/ and results/ are created under ROOT: the repository root unless FASRGAN_ROOT says otherwise
ROOT = os.environ.get('FASRGAN_ROOT') or osp.abspath(osp.join(osp.dirname(__file__), osp.pardir, osp.pardir))


def checked_parse_options(root_path, is_train=True, argv=None):
    """:func:`parse_options`, then every check of :func:`check_options`, before any work starts."""
    opt, args = parse_options(root_path, is_train=is_train, argv=argv)
    check_options(opt, args.opt)
    return opt, args


def report(message, level=logging.ERROR):
    """``message`` into the run's log (BasicSR's logger prints it on stderr too), or on stderr before one exists."""
    logger = logging.getLogger('basicsr')
    if any(isinstance(h, logging.FileHandler) for h in logger.handlers):
        logger.log(level, message)
    else:
        print(message, file=sys.stderr, flush=True)


def user_message(err):
    """The error's own message, also when a DataLoader worker re-raised it with the worker's traceback."""
    text = str(err)
    if 'Original Traceback' in text:
        last = text.strip().splitlines()[-1]
        text = last.split(': ', 1)[1] if ': ' in last else last
    return text


def run(pipeline_module, pipeline_name, root_path=ROOT):
    """Call ``pipeline_module.<pipeline_name>(root_path)``; known failures exit with a message, no traceback."""
    pipeline_module.parse_options = checked_parse_options
    pipeline_module.build_dataset = dataset_check.wrap_build_dataset(basicsr.data.build_dataset)
    with weights_only_loading():
        try:
            getattr(pipeline_module, pipeline_name)(root_path)
        except UserError as err:
            report(f'error: {user_message(err)}')
            sys.exit(2)
        except resilience.DivergenceError as err:
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


def train():
    resilience.install()
    run(basicsr.train, 'train_pipeline')


def test():
    run(basicsr.test, 'test_pipeline')
