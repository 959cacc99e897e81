"""BasicSR's ``parse_options``, read safely: the option dict every pipeline of this package runs on.

:func:`parse_options` takes BasicSR's command line (``-opt``, ``--launcher``, ``--auto_resume``, ``--debug``,
``--local_rank``, ``--force_yml``) plus ``--import MODULE`` (repeatable: a module name or a ``.py`` file whose
registered archs/models/losses the option file may then name) and ``--root DIR`` (the one path rule,
:mod:`fasrgan_basicsr.utils.run_root`). The option dict it returns has the same derived entries as BasicSR's
(``dist``, ``rank``, ``world_size``, seeds, ``is_train``, the experiment or results paths). Option files are read
by :func:`fasrgan_basicsr.utils.option_file.read_option_file` (plain data only); ``--force_yml
train:ema_decay=0.999`` values are parsed as YAML scalars, never evaluated.
"""
import argparse
import importlib
import importlib.util
import os
import random
import sys
from collections import OrderedDict
from os import path as osp

import torch
import yaml
from basicsr.utils import set_random_seed
from basicsr.utils.dist_util import get_dist_info

from fasrgan_basicsr.compat import init_dist  # BasicSR's assumes CUDA
from fasrgan_basicsr.utils.errors import UserError
from fasrgan_basicsr.utils.option_file import load_text, read_option_file
from fasrgan_basicsr.utils.run_root import add_root_argument

from .options_check import check_essentials


def import_user_module(spec):
    """Import ``spec`` (a module name, or a path to a ``.py`` file) so that its registrations take effect."""
    try:
        if spec.endswith('.py') or os.sep in spec:
            if not osp.isfile(spec):
                raise UserError(f'--import {spec}: no such file.')
            name = osp.splitext(osp.basename(spec))[0]
            module_spec = importlib.util.spec_from_file_location(name, spec)
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            module_spec.loader.exec_module(module)
            return module
        return importlib.import_module(spec)
    except UserError:
        raise
    except Exception as err:  # the user's module failed to import: name it, keep the cause short
        raise UserError(f'--import {spec}: cannot be imported ({type(err).__name__}: {err}).') from err


def build_parser():
    parser = argparse.ArgumentParser()
    parser.add_argument('-opt', type=str, required=True, help='Path to option YAML file.')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none', help='job launcher')
    parser.add_argument('--auto_resume', action='store_true')
    parser.add_argument('--debug', action='store_true')
    parser.add_argument('--local_rank', type=int, default=0)
    parser.add_argument('--force_yml', nargs='+', default=None,
                        help='override options, e.g. train:ema_decay=0.999 (values are YAML scalars)')
    parser.add_argument('--import', dest='imports', action='append', default=[], metavar='MODULE',
                        help='import a module (name or .py file) that registers your own archs/models/losses; '
                        'repeatable')
    add_root_argument(parser)
    return parser


def apply_overrides(opt, overrides, opt_file):
    """``--force_yml key:sub=value`` entries applied to ``opt``; the parent keys must exist."""
    for entry in overrides or ():
        keys, sep, text = entry.partition('=')
        if not sep or not keys.strip():
            raise UserError(f'--force_yml {entry}: expected key:subkey=value.')
        try:
            value = load_text(text.strip()) if text.strip() else None
        except yaml.YAMLError as err:
            raise UserError(f'--force_yml {entry}: value is not a YAML scalar or list ({err}).') from None
        *parents, last = [k.strip() for k in keys.split(':')]
        node = opt
        for i, key in enumerate(parents):
            if not isinstance(node.get(key), dict):
                raise UserError(f'--force_yml {entry}: {":".join(parents[:i + 1])} is not a section of {opt_file}.')
            node = node[key]
        node[last] = value


def parse_options(root_path, is_train=True, argv=None):
    """BasicSR's option parsing, read safely; returns ``(opt, args)`` like ``basicsr.utils.options.parse_options``."""
    args = build_parser().parse_args(argv)
    for spec in args.imports:
        import_user_module(spec)
    opt = read_option_file(args.opt)
    apply_overrides(opt, args.force_yml, args.opt)
    check_essentials(opt, args.opt, is_train)

    opt['dist'] = args.launcher != 'none'
    if opt['dist']:
        init_dist(args.launcher, **(opt.get('dist_params') or {} if args.launcher == 'slurm' else {}))
    else:
        print('Disable distributed.', flush=True)
    opt['rank'], opt['world_size'] = get_dist_info()
    if opt.get('manual_seed') is None:
        opt['manual_seed'] = random.randint(1, 10000)
    set_random_seed(opt['manual_seed'] + opt['rank'])
    opt['auto_resume'] = args.auto_resume
    opt['is_train'] = is_train
    if args.debug and not opt['name'].startswith('debug'):
        opt['name'] = 'debug_' + opt['name']
    if opt['num_gpu'] == 'auto':
        opt['num_gpu'] = torch.cuda.device_count()

    for phase, dataset in opt['datasets'].items():
        dataset['phase'] = phase.split('_')[0]  # train, val, test (val_1, test_2, ...)
        if 'scale' in opt:
            dataset['scale'] = opt['scale']
        for key in ('dataroot_gt', 'dataroot_lq'):
            if dataset.get(key) is not None:
                dataset[key] = osp.expanduser(dataset[key])
    paths = opt.setdefault('path', OrderedDict())
    for key, value in paths.items():
        if value is not None and ('resume_state' in key or 'pretrain_network' in key):
            paths[key] = osp.expanduser(value)

    if is_train:
        root = osp.join(root_path, 'experiments', opt['name'])
        paths.update(experiments_root=root, models=osp.join(root, 'models'),
                     training_states=osp.join(root, 'training_states'), log=root,
                     visualization=osp.join(root, 'visualization'))
        if 'debug' in opt['name']:  # BasicSR's debug mode: frequent validation, logging and checkpoints
            if 'val' in opt:
                opt['val']['val_freq'] = 8
            opt['logger']['print_freq'] = 1
            opt['logger']['save_checkpoint_freq'] = 8
    else:
        root = osp.join(root_path, 'results', opt['name'])
        paths.update(results_root=root, log=root, visualization=osp.join(root, 'visualization'))
    return opt, args
