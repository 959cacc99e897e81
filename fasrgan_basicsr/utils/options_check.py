"""Check a parsed BasicSR option dict before any work starts, and report every problem at once.

``train.py`` and ``test.py`` run :func:`check_options` right after BasicSR's
``parse_options``; each problem names its key path (``train:pixel_opt:type``) and what was
expected, instead of a traceback from deep inside BasicSR or torch.
"""
import difflib
import inspect
import os

from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY, MODEL_REGISTRY

from .checkpoint import torch_load
from .cli import UserError

WEIGHT_KEYS = ('loss_weight', 'perceptual_weight', 'style_weight')
PATH_KEYS = ('dataroot_gt', 'dataroot_lq', 'meta_info_file')


class OptionsError(UserError):
    """The option file has problems; the message lists each with its key path."""

    def __init__(self, opt_file, problems):
        self.problems = problems
        lines = '\n'.join(f'  - {p}' for p in problems)
        super().__init__(f'{opt_file or "options"}: {len(problems)} problem(s):\n{lines}')


def _accepted_args(cls):
    """Keyword names ``cls(...)`` accepts, or None when it takes ``**kwargs``."""
    params = inspect.signature(cls).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _check_arguments(cls, given, key, problems):
    accepted = _accepted_args(cls)
    for arg in sorted(set(given) - {'type'} - (accepted if accepted is not None else set(given))):
        close = difflib.get_close_matches(arg, sorted(accepted), n=1)
        hint = f' Did you mean {close[0]}?' if close else ''
        problems.append(f'{key}:{arg}: {cls.__name__} has no argument {arg!r}.{hint}')


def _registered(registry, name, key, kind, problems):
    if name is None:
        problems.append(f'{key}: missing; expected the name of a registered {kind}.')
        return None
    if name in registry:
        return registry.get(name)
    close = difflib.get_close_matches(str(name), [k for k, _ in registry], n=3)
    hint = f' Did you mean {", ".join(close)}?' if close else ''
    problems.append(f'{key}: unknown {kind} {name!r} (not in BasicSR\'s {kind} registry, plugin included).{hint}')
    return None


def _default_arg(cls, name):
    param = inspect.signature(cls).parameters.get(name)
    return None if param is None or param.default is inspect.Parameter.empty else param.default


def _check_names(opt, problems):
    model = _registered(MODEL_REGISTRY, opt.get('model_type'), 'model_type', 'model', problems)
    for net_key in ('network_g', 'network_d'):
        if net_key in opt:
            arch = _registered(ARCH_REGISTRY, opt[net_key].get('type'), f'{net_key}:type', 'arch', problems)
            if arch is not None:
                _check_arguments(arch, opt[net_key], net_key, problems)
    train = opt.get('train') or {}
    allowed = _train_options(model)
    for key in sorted(set(train) - allowed if allowed else ()):
        close = difflib.get_close_matches(key, sorted(allowed), n=1)
        hint = f' Did you mean {close[0]}?' if close else ''
        problems.append(f'train:{key}: not an option of {opt["model_type"]} (it reads: {", ".join(sorted(allowed))}).'
                        f'{hint}')
    for key, value in train.items():
        if key.endswith('_opt') and isinstance(value, dict) and 'type' in value:
            loss = _registered(LOSS_REGISTRY, value['type'], f'train:{key}:type', 'loss', problems)
            if loss is not None:
                _check_arguments(loss, value, f'train:{key}', problems)
            for wkey in WEIGHT_KEYS:
                weight = value.get(wkey)
                if isinstance(weight, (int, float)) and weight < 0:
                    problems.append(f'train:{key}:{wkey}: must be >= 0, got {weight}.')
    for name, metric in ((opt.get('val') or {}).get('metrics') or {}).items():
        _registered(METRIC_REGISTRY, metric.get('type'), f'val:metrics:{name}:type', 'metric', problems)


def _train_options(model):
    """The ``train`` keys a plugin model reads (collected from its mixins' ``TRAIN_OPTIONS``), else None."""
    if model is None or not any('TRAIN_OPTIONS' in vars(c) for c in model.__mro__):
        return None
    return set().union(*(vars(c).get('TRAIN_OPTIONS', ()) for c in model.__mro__))


def _check_scale(opt, problems):
    """The generator's upsampling factor must be the option file's ``scale`` (which BasicSR gives the datasets)."""
    net_g = opt.get('network_g') or {}
    if 'scale' not in opt or net_g.get('type') not in ARCH_REGISTRY:
        return
    arch = ARCH_REGISTRY.get(net_g['type'])
    for arg in ('scale', 'upscale'):
        net_scale = net_g.get(arg, _default_arg(arch, arg))
        if net_scale is not None and net_scale != opt['scale']:
            problems.append(f'network_g:{arg}: {net_g["type"]} upsamples ×{net_scale} but scale (used by the '
                            f'datasets) is {opt["scale"]}; make them agree.')


def _check_datasets(opt, problems):
    for phase, dataset in (opt.get('datasets') or {}).items():
        _registered(DATASET_REGISTRY, dataset.get('type'), f'datasets:{phase}:type', 'dataset', problems)
        for key in PATH_KEYS:
            path = dataset.get(key)
            if path is not None and not os.path.exists(path):
                problems.append(f'datasets:{phase}:{key}: {path!r} does not exist '
                                f'(see datasets_prep/ to build it).')


def _check_pretrained_paths(opt, problems):
    for key, path in (opt.get('path') or {}).items():
        if not key.startswith('pretrain_network') or path is None:
            continue
        if not os.path.isfile(path):
            problems.append(f'path:{key}: {path!r} does not exist (train the run it comes from first, or set ~).')
            continue
        try:
            torch_load(path, map_location='cpu')
        except ValueError as err:
            problems.append(f'path:{key}: {err}')


def _check_discriminator_input(opt, problems):
    """A discriminator with a fully connected head is built for one input size: the gt_size."""
    net_d = opt.get('network_d')
    train_set = (opt.get('datasets') or {}).get('train')
    if not net_d or not train_set or net_d.get('type') not in ARCH_REGISTRY or 'gt_size' not in train_set:
        return
    input_size = net_d.get('input_size', _default_arg(ARCH_REGISTRY.get(net_d['type']), 'input_size'))
    if input_size is not None and input_size != train_set['gt_size']:
        problems.append(f'network_d:input_size: {net_d["type"]} is built for {input_size}×{input_size} inputs but '
                        f'datasets:train:gt_size is {train_set["gt_size"]}; make them equal.')


def check_options(opt, opt_file=None):
    """Raise :class:`OptionsError` listing every problem found in ``opt`` (a parsed option dict)."""
    problems = []
    _check_names(opt, problems)
    _check_scale(opt, problems)
    _check_datasets(opt, problems)
    _check_pretrained_paths(opt, problems)
    _check_discriminator_input(opt, problems)
    if problems:
        raise OptionsError(opt_file, problems)
