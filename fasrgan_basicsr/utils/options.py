"""Reading option files: the one path every command of this package takes.

BasicSR 1.4.2's ``parse_options`` reads YAML with a loader that builds Python objects (a
``!!python/object/apply:os.system`` tag in an option file runs that command) and applies
``--force_yml`` with ``exec``/``eval``. Here option files are read as plain data only:

- :func:`read_option_file`: YAML through a safe loader (mappings as ``OrderedDict`` like BasicSR,
  YAML's standard tags such as ``!!float 1e-4`` kept); a Python tag, a syntax error, a duplicated key
  or a document that is not a mapping is one line naming the file and the line.
- :func:`parse_options`: BasicSR's command line (``-opt``, ``--launcher``, ``--auto_resume``,
  ``--debug``, ``--local_rank``, ``--force_yml``) plus ``--import MODULE`` (repeatable: a module name or
  a ``.py`` file whose registered archs/models/losses the option file may then name). The option dict
  it returns has the same derived entries as BasicSR's (``dist``, ``rank``, ``world_size``, seeds,
  ``is_train``, the experiment or results paths). ``--force_yml train:ema_decay=0.999`` values are
  parsed as YAML scalars, never evaluated.
"""
import argparse
import importlib
import importlib.util
import os
import random
import sys
from collections import OrderedDict
from os import path as osp

import yaml

from .cli import UserError

try:
    _SafeLoader = yaml.CSafeLoader
except AttributeError:  # PyYAML without libyaml
    _SafeLoader = yaml.SafeLoader


class OptionFileError(UserError):
    """An option file that cannot be read as an option mapping (message names the file and line)."""


class OptionLoader(_SafeLoader):
    """YAML's safe loader, with mappings as ``OrderedDict`` and duplicated keys refused."""


def _ordered_mapping(loader, node):
    loader.flatten_mapping(node)
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f'duplicated key {key!r} (first at line {seen[key] + 1}; YAML keeps only the last)',
                key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return OrderedDict(loader.construct_pairs(node, deep=True))


OptionLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _ordered_mapping)


def _describe_yaml_error(path, err):
    mark = getattr(err, 'problem_mark', None) or getattr(err, 'context_mark', None)
    where = f'{path}, line {mark.line + 1}, column {mark.column + 1}' if mark is not None else path
    problem = getattr(err, 'problem', None) or str(err)
    if 'could not determine a constructor for the tag' in problem:
        tag = problem.split('tag', 1)[1].strip(" '")
        problem = (f'tag {tag} is not allowed: option files are read as plain data '
                   '(numbers, strings, lists, mappings), never as Python objects')
    context = getattr(err, 'context', None)
    return f'{where}: {problem}' + (f' ({context})' if context and 'constructor' not in problem else '')


def read_option_file(path):
    """The option file at ``path`` as an ``OrderedDict``; raises :class:`OptionFileError` (one line) otherwise."""
    if not osp.isfile(path):
        raise OptionFileError(f'{path}: no such option file.' if not osp.exists(path) else
                              f'{path}: is a folder; expected a YAML option file.')
    try:
        with open(path, encoding='utf-8') as f:
            opt = yaml.load(f, Loader=OptionLoader)  # noqa: S506  (OptionLoader is YAML's safe loader)
    except yaml.YAMLError as err:
        raise OptionFileError(_describe_yaml_error(path, err)) from None
    except UnicodeDecodeError as err:
        raise OptionFileError(f'{path}: not a text file (UTF-8 decoding failed at byte {err.start}).') from None
    if not isinstance(opt, dict):
        found = 'an empty file' if opt is None else f'a {type(opt).__name__}'
        raise OptionFileError(f'{path}: expected a mapping of options (name:, model_type:, ...), found {found}.')
    return opt


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
    return parser


def apply_overrides(opt, overrides, opt_file):
    """``--force_yml key:sub=value`` entries applied to ``opt``; the parent keys must exist."""
    for entry in overrides or ():
        keys, sep, text = entry.partition('=')
        if not sep or not keys.strip():
            raise UserError(f'--force_yml {entry}: expected key:subkey=value.')
        try:
            value = yaml.load(text.strip(), Loader=OptionLoader) if text.strip() else None  # noqa: S506
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
    import torch
    from basicsr.utils import set_random_seed
    from basicsr.utils.dist_util import get_dist_info

    from fasrgan_basicsr.compat import init_dist  # BasicSR's assumes CUDA

    from .options_check import check_structure

    args = build_parser().parse_args(argv)
    for spec in args.imports:
        import_user_module(spec)
    opt = read_option_file(args.opt)
    apply_overrides(opt, args.force_yml, args.opt)
    check_structure(opt, args.opt, is_train)

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
