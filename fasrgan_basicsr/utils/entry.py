"""Run one of BasicSR's pipelines with the plugin registered and the option file checked first."""
import os
import sys
from os import path as osp

import basicsr.test
import basicsr.train
from basicsr.utils.options import parse_options

from . import resilience
from .options_check import OptionsError, check_options

# experiments/ and results/ are created under ROOT: the repository root unless FASRGAN_ROOT says otherwise
ROOT = os.environ.get('FASRGAN_ROOT') or osp.abspath(osp.join(osp.dirname(__file__), osp.pardir, osp.pardir))


def _checked_parse_options(root_path, is_train=True):
    opt, args = parse_options(root_path, is_train=is_train)
    check_options(opt, args.opt)
    return opt, args


def run(pipeline_module, pipeline_name, root_path=ROOT):
    """Call ``pipeline_module.<pipeline_name>(root_path)``; known failures exit with a message, no traceback.

    Exit status: 2 bad options, 3 diverged (non-finite loss), 128 + signal number when interrupted.
    """
    pipeline_module.parse_options = _checked_parse_options
    try:
        getattr(pipeline_module, pipeline_name)(root_path)
    except OptionsError as err:
        print(f'error: {err}', file=sys.stderr)
        sys.exit(2)
    except resilience.DivergenceError as err:
        print(f'error: {err}', file=sys.stderr)
        sys.exit(3)
    except resilience.TrainingInterrupted as err:
        print(str(err), file=sys.stderr)
        sys.exit(128 + int(err.signum))


def train():
    resilience.install()
    run(basicsr.train, 'train_pipeline')


def test():
    run(basicsr.test, 'test_pipeline')
