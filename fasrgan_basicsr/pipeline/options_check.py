"""Check a parsed BasicSR option dict before any work starts, and report every problem at once.

``train.py`` and ``test.py`` run :func:`check_options` right after BasicSR's
``parse_options``; each problem names its key path (``train:pixel_opt:type``) and what was
expected, instead of a traceback from deep inside BasicSR or torch.
"""
import difflib
import importlib.util
import os
import re

import torch
import torchvision.models as models
from basicsr.archs.vgg_arch import VGG_PRETRAIN_PATH
from basicsr.models.realesrgan_model import RealESRGANModel
from basicsr.models.realesrnet_model import RealESRNetModel
from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY, MODEL_REGISTRY

from fasrgan_basicsr.utils.checkpoint import (
    CheckpointError,
    find_state_dict,
    fit_state_dict,
    torch_load,
    weights_only_loading,
)
from fasrgan_basicsr.utils.early_warnings import warn_early
from fasrgan_basicsr.utils.errors import UserError
from fasrgan_basicsr.utils.run_root import shown_path

from .dataset_check import preflight
from .option_kinds import is_int
from .option_structure import signature_default, train_options, walk
from .option_table import SIGNATURE, options_of


class OptionsError(UserError):
    """The option file has problems; the message lists each with its key path (one line when there is one)."""

    def __init__(self, opt_file, problems):
        self.problems = problems
        if len(problems) == 1:
            super().__init__(f'{opt_file or "options"}: {problems[0]}')
        else:
            lines = '\n'.join(f'  - {p}' for p in problems)
            super().__init__(f'{opt_file or "options"}: {len(problems)} problem(s):\n{lines}')


# ---------------------------------------------------------------------------------------------- structure
#: the phases of a training run's datasets (BasicSR refuses any other in training)
TRAIN_PHASE = re.compile(r'train|val(_\w+)?')


#: the top-level keys BasicSR's option parsing reads before the whole check can run
ESSENTIAL = ('name', 'model_type', 'num_gpu', 'manual_seed', 'scale', 'datasets', 'path', 'train', 'val', 'logger')


def check_essentials(opt, opt_file=None, is_train=True):
    """What :func:`~.options.parse_options` itself reads (the run's name, device, seed, the sections' being
    mappings); everything else is checked, all problems at once, by :func:`check_options` after it."""
    problems = []
    for option in options_of(''):
        if option.key not in ESSENTIAL:
            continue
        value = opt.get(option.key)
        if value is None and (option.required is True or (option.required == 'train' and is_train)):
            hint = ' (num_gpu: auto uses every GPU there is, 0 the CPU)' if option.key == 'num_gpu' else ''
            problems.append(f'{option.key}: missing; expected {option.describe()}{hint}.')
        elif value is not None and not option.accepts(value):
            problems.append(f'{option.key}: expected {option.describe()}, got {value!r}.')
    for phase, dataset in (opt.get('datasets') or {}).items() if isinstance(opt.get('datasets'), dict) else ():
        if not isinstance(dataset, dict):
            problems.append(f'datasets:{phase}: expected a mapping (name, type, dataroot_gt, ...), got {dataset!r}.')
    if problems:
        raise OptionsError(opt_file, problems)
    if not is_train and isinstance(opt.get('datasets'), dict) and 'train' in opt['datasets']:
        raise OptionsError(opt_file, ['datasets:train: this is a training option file; test.py takes a test option '
                                      'file (its generator\'s network_g and pretrain_network_g, test datasets), such '
                                      'as those `fasrgan-options list` shows under test/.'])


def check_structure(opt, opt_file=None, is_train=True):
    """Every key against the option table (:mod:`.option_table`): unknown keys (with a did-you-mean), values of the
    wrong kind and missing keys, before anything reads them; absent ``fill`` defaults are written in.

    Raises :class:`OptionsError` naming each key path with what was expected and what was found.
    """
    problems = []
    _structure_problems(opt, problems, is_train)
    if problems:
        raise OptionsError(opt_file, problems)


def _structure_problems(opt, problems, is_train):
    walk(opt, (), opt, problems, is_train)
    datasets = opt.get('datasets')
    if not isinstance(datasets, dict):
        return
    if is_train and 'train' not in datasets:
        problems.append('datasets:train: missing; a training run needs a train dataset '
                        f'(found: {", ".join(map(str, datasets)) or "none"}).')
    if not is_train and not datasets:
        problems.append('datasets: empty; a test run needs at least one dataset (test_1: ...).')
    for phase in datasets:
        if is_train and not TRAIN_PHASE.fullmatch(str(phase)):
            problems.append(f'datasets:{phase}: a training run reads train and val (val_1, val_2, ...) datasets; '
                            'rename it.')


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
    default = signature_default(cls, name)
    return None if default is SIGNATURE else default


def _check_names(opt, problems):
    """Every ``type`` names a registered component; what the model refuses is not given; loss weights are >= 0."""
    model = _registered(MODEL_REGISTRY, opt.get('model_type'), 'model_type', 'model', problems)
    for net_key in ('network_g', 'network_d'):
        if isinstance(opt.get(net_key), dict):
            _registered(ARCH_REGISTRY, opt[net_key].get('type'), f'{net_key}:type', 'arch', problems)
    train = opt.get('train') or {}
    for key, why in (getattr(model, 'UNSUPPORTED_TRAIN_OPTIONS', None) or {}).items():
        if train.get(key):
            problems.append(f'train:{key}: {opt["model_type"]} does not use it ({why}); remove it.')
    _check_discriminator_outputs(opt, model, problems)
    for key, value in train.items():
        if key.endswith('_opt') and isinstance(value, dict) and 'type' in value:
            _registered(LOSS_REGISTRY, value['type'], f'train:{key}:type', 'loss', problems)
    for name, metric in ((opt.get('val') or {}).get('metrics') or {}).items():
        _registered(METRIC_REGISTRY, metric.get('type'), f'val:metrics:{name}:type', 'metric', problems)
        if metric.get('y_uint8') and not metric.get('test_y_channel'):
            problems.append(f'val:metrics:{name}:y_uint8: rounds the Y channel, so it needs test_y_channel: true.')
    for phase, dataset in (opt.get('datasets') or {}).items():
        _registered(DATASET_REGISTRY, dataset.get('type'), f'datasets:{phase}:type', 'dataset', problems)


def reads_score_map(model):
    """Whether a model class reads a discriminator's score map: it declares ``'score_map'`` among its
    ``DISCRIMINATOR_OUTPUTS`` (the fine-grained attention mixin does)."""
    return 'score_map' in getattr(model, 'DISCRIMINATOR_OUTPUTS', ())


def _check_discriminator_outputs(opt, model, problems):
    """A discriminator with a score map returns two outputs; only a model with the attention step reads both.

    Likewise only such a model can draw score maps at validation (``val:save_score_map``).
    """
    if train_options(model) is None:
        return  # unknown model (a user's own step may well read both outputs)
    if (opt.get('val') or {}).get('save_score_map') and not reads_score_map(model):
        problems.append(f'val:save_score_map: {opt["model_type"]} has no score-map discriminator to draw; use it with '
                        'FASRGANModel, SRGANFAModel or FAFsSRGANModel, or remove it.')
    net_d = opt.get('network_d')
    if not isinstance(net_d, dict) or net_d.get('type') not in ARCH_REGISTRY:
        return
    if hasattr(ARCH_REGISTRY.get(net_d['type']), 'score_map') and not reads_score_map(model) \
            and opt.get('is_train', True):
        problems.append(f'network_d:type: {net_d["type"]} returns (score, score map) but {opt["model_type"]} '
                        'expects one output; use FASRGANModel (ESRGAN), SRGANFAModel (SRGAN) or FAFsSRGANModel, '
                        'or put FineGrainedAttentionMixin first in your model\'s bases.')


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
    names = {}
    for phase, dataset in (opt.get('datasets') or {}).items():
        problems.extend(preflight(phase, dataset, opt))
        if phase != 'train' and dataset.get('name') in names:  # their results would be written over each other
            problems.append(f'datasets:{phase}:name: {dataset["name"]!r} is also the name of datasets:'
                            f'{names[dataset["name"]]}; their images and logged values would overwrite each other, so '
                            'give each a name of its own.')
        names.setdefault(dataset.get('name'), phase)


def build_on_meta(net_opt):
    """``net_opt``'s network with shapes only (no memory, no initialisation cost, nothing logged), or None."""
    kwargs = {k: v for k, v in net_opt.items() if k != 'type'}
    try:
        with torch.device('meta'):
            return ARCH_REGISTRY.get(net_opt['type'])(**kwargs)
    except Exception:  # an argument problem, reported by _check_names
        return None


def _check_pretrained_paths(opt, problems):
    """Each ``path:pretrain_network_<x>`` loads weights-only and fits ``network_<x>``; ``resume_state`` loads."""
    paths = opt.get('path') or {}
    resume = paths.get('resume_state')
    if resume is not None and not opt.get('auto_resume'):
        try:
            torch_load(resume, mmap=True)
        except CheckpointError as err:
            problems.append(f'path:resume_state: {err}')
    for key, path in paths.items():
        if not key.startswith('pretrain_network') or path is None:
            continue
        if not os.path.lexists(path):
            hint = ('get the authors\' weights and join them as docs/authors_models.md says' if 'pretrained_models' in
                    str(path) else 'train the run it comes from first, or set ~')
            problems.append(f'path:{key}: {shown_path(path)} does not exist ({hint}).')
            continue
        net_name = key[len('pretrain_'):]  # network_g, network_d, ...
        param_key = paths.get(f'param_key_{net_name[len("network_"):]}', 'params')
        try:
            state, _ = find_state_dict(path, (param_key, 'params') if param_key is not None else ())
            net = build_on_meta(opt[net_name]) if isinstance(opt.get(net_name), dict) else None
            if net is not None:
                fit_state_dict(net, state, path, paths.get(f'strict_load_{net_name[len("network_"):]}', True),
                               f'{net_name} ({opt[net_name]["type"]})')
        except CheckpointError as err:
            problems.append(f'path:{key}: {err}')


def _check_untrained_networks(opt, problems):
    """A test of a network with weights but no ``pretrain_network_*`` would score its random initialisation: refused
    unless ``path:allow_random_init`` says so (weight-free networks, such as ``Bicubic``, need nothing)."""
    paths = opt.get('path') or {}
    if opt.get('is_train', True) or paths.get('allow_random_init'):
        return
    for net_name in (k for k in opt if k.startswith('network_') and isinstance(opt[k], dict)):
        if paths.get(f'pretrain_{net_name}') is not None:
            continue
        net = build_on_meta(opt[net_name])
        if net is not None and sum(p.numel() for p in net.parameters()) > 0:
            problems.append(f'path:pretrain_{net_name}: not set, so the test would score a randomly initialised '
                            f'{opt[net_name]["type"]}; give its checkpoint, or set path:allow_random_init: true to '
                            'test the initialisation on purpose.')


def _check_device(opt, problems):
    num_gpu = opt.get('num_gpu')
    if is_int(num_gpu) and num_gpu > 0 and not torch.cuda.is_available():
        problems.append(f'num_gpu: {num_gpu}, but this machine has no CUDA GPU (torch {torch.__version__}); '
                        'set num_gpu: 0 for the CPU, or num_gpu: auto.')
    elif is_int(num_gpu) and num_gpu > torch.cuda.device_count() > 0:
        problems.append(f'num_gpu: {num_gpu}, but this machine has {torch.cuda.device_count()} GPU(s); '
                        'set num_gpu: auto.')


def _check_perceptual(opt, problems):
    """A perceptual loss that weighs nothing still builds VGG19 (and needs its weights): refuse it."""
    perceptual = (opt.get('train') or {}).get('perceptual_opt')
    if not opt.get('is_train', True) or not isinstance(perceptual, dict):
        return
    weights = [perceptual.get(k, 1.0) for k in ('perceptual_weight', 'style_weight')]
    if all(w == 0 for w in weights):
        problems.append('train:perceptual_opt: perceptual_weight and style_weight are both 0, so the loss adds '
                        'nothing, yet VGG19 would be built and its weights loaded; remove perceptual_opt.')
        return
    problem = vgg_weights_problem(perceptual.get('vgg_type', 'vgg19'))
    if problem:
        problems.append(f'train:perceptual_opt: {problem}')


def _weights_file_problem(path):
    try:
        torch_load(path, mmap=True)
    except CheckpointError as err:
        return str(err)
    return None


def vgg_weights_problem(vgg_type):
    """Where BasicSR's ``VGGFeatureExtractor`` will find ``vgg_type``'s weights, fetched now if missing; else why not.

    It reads ``experiments/pretrained_models/vgg19-dcbb9e9d.pth`` (relative to the working directory) when
    that exists, else torchvision's cache (``$TORCH_HOME/hub/checkpoints``), downloading into it when
    empty. The download is tried here, before any work, so that an offline machine gets one line.
    """
    if os.path.isfile(VGG_PRETRAIN_PATH):
        return _weights_file_problem(VGG_PRETRAIN_PATH)
    try:
        weights = models.get_model_weights(vgg_type).IMAGENET1K_V1
    except (ValueError, AttributeError):
        return f'vgg_type {vgg_type!r} is not a torchvision VGG (vgg11 … vgg19, _bn variants).'
    cached = os.path.join(torch.hub.get_dir(), 'checkpoints', os.path.basename(weights.url))
    if os.path.isfile(cached):
        return _weights_file_problem(cached)
    try:
        with weights_only_loading():
            weights.get_state_dict(progress=True, check_hash=True)
    except Exception as err:  # offline (URLError), a proxy, a full disk
        return (f'the {vgg_type.upper()} weights are not on this machine and could not be downloaded '
                f'({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ""}); put '
                f'{os.path.basename(weights.url)} in {cached} or in {VGG_PRETRAIN_PATH}.')
    return None


def _synthesises_pairs(opt):
    """Whether the model makes its LQ images itself from HR crops of the top-level ``gt_size`` (Real-ESRGAN)."""
    model = MODEL_REGISTRY.get(opt['model_type']) if opt.get('model_type') in MODEL_REGISTRY else None
    return model is not None and issubclass(model, (RealESRGANModel, RealESRNetModel)) and \
        opt.get('high_order_degradation', True)


def _check_discriminator_input(opt, problems):
    """A discriminator with a fully connected head is built for one input size: the gt_size (the top-level one
    of the Real-ESRGAN models, which crop their synthesised pairs to it)."""
    net_d = opt.get('network_d')
    train_set = (opt.get('datasets') or {}).get('train')
    if not net_d or not train_set or net_d.get('type') not in ARCH_REGISTRY:
        return
    key, gt_size = ('gt_size', opt.get('gt_size')) if _synthesises_pairs(opt) else \
        ('datasets:train:gt_size', train_set.get('gt_size'))
    arch = ARCH_REGISTRY.get(net_d['type'])
    declared = getattr(arch, 'fixed_input_size', None)  # an arch whose size depends on its options declares it
    try:
        input_size = declared(**net_d) if declared else net_d.get('input_size', _default_arg(arch, 'input_size'))
    except ValueError as err:
        problems.append(f'network_d:input_size: {net_d["type"]}: {err}.')
        return
    if input_size is not None and gt_size is not None and input_size != gt_size:
        problems.append(f'network_d:input_size: {net_d["type"]} is built for {input_size}×{input_size} inputs but '
                        f'{key} is {gt_size}; make them equal.')
    elif input_size is None and declared and isinstance(gt_size, int) and gt_size % 8:
        problems.append(f'{key}: {gt_size} is not a multiple of 8, which {net_d["type"]} needs of its inputs.')


def _check_training_pair_pool(opt, problems):
    """Real-ESRGAN's training-pair pool takes whole batches: ``queue_size`` must be a multiple of the batch."""
    batch = ((opt.get('datasets') or {}).get('train') or {}).get('batch_size_per_gpu')
    if not _synthesises_pairs(opt) or not isinstance(batch, int) or batch <= 0:
        return
    queue_size = opt.get('queue_size', 180)
    if not isinstance(queue_size, int) or queue_size <= 0 or queue_size % batch:
        problems.append(f'queue_size: {queue_size!r} must be a positive multiple of datasets:train:batch_size_per_gpu '
                        f'({batch}): the training-pair pool swaps whole batches.')


def check_options(opt, opt_file=None):
    """Raise :class:`OptionsError` listing every problem found in ``opt`` (a parsed option dict): its structure
    (:func:`check_structure`, already passed when it comes from :func:`~.options.parse_options`), then what it
    names and points to."""
    problems = []
    _check_names(opt, problems)
    _structure_problems(opt, problems, opt.get('is_train', True))
    _check_scale(opt, problems)
    _check_device(opt, problems)
    _check_datasets(opt, problems)
    _check_pretrained_paths(opt, problems)
    _check_untrained_networks(opt, problems)
    _check_discriminator_input(opt, problems)
    _check_training_pair_pool(opt, problems)
    if not problems:  # may download VGG19's weights: only for an otherwise good option file
        _check_perceptual(opt, problems)
    if problems:
        raise OptionsError(opt_file, problems)
    _note_optional_metrics(opt)


#: metrics whose value needs an optional package: the package, and how to install it
OPTIONAL_METRICS = {'calculate_pi': ('pyiqa', 'pip install -e .[pi]'),
                    'calculate_ma': ('pyiqa', 'pip install -e .[pi]')}


def _note_optional_metrics(opt):
    """One warning (on stderr and in the run's log) per validation metric whose optional package is missing."""
    for name, metric in ((opt.get('val') or {}).get('metrics') or {}).items():
        package, install = OPTIONAL_METRICS.get(metric.get('type'), (None, None))
        if package and importlib.util.find_spec(package) is None:
            warn_early(f'val:metrics:{name}: {metric["type"]} needs {package}, which is not installed ({install}); '
                       f'it is logged as nan and the other metrics are computed.')
