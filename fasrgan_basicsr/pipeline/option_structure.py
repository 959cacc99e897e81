"""Walking an option dict against the option table: unknown keys, values of the wrong kind, missing keys.

For each mapping of the option file, :func:`applicable` finds its section (:mod:`.option_table`) and the keys its
readers accept: the model's for the top level and ``train``, the dataset class's, the component's a ``type:``
names. A component the table does not cover is checked against its signature; one whose keys cannot be known (a
user's model that reads options itself, a metric taking ``**kwargs``) has its unknown keys let through. Each problem
names its key path and, for a misspelt key, the closest known one.
"""
import difflib
import inspect
import re
from dataclasses import dataclass, field

import torch
from basicsr.models import lr_scheduler
from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY, MODEL_REGISTRY

from .option_table import SECTIONS, SIGNATURE, key_matches, options_of, section_for, section_matches

REGISTRIES = {'arch': ARCH_REGISTRY, 'loss': LOSS_REGISTRY, 'metric': METRIC_REGISTRY}
SCHEDULERS = {'MultiStepLR': lr_scheduler.MultiStepRestartLR, 'MultiStepRestartLR': lr_scheduler.MultiStepRestartLR,
              'CosineAnnealingRestartLR': lr_scheduler.CosineAnnealingRestartLR}
#: the arguments a component's constructor (or function) gets from the pipeline, not from the option file
PIPELINE_ARGUMENTS = {'params', 'optimizer', 'img', 'img2', 'last_epoch'}
#: BasicSR model classes whose top-level keys the table lists (others may read keys of their own)
COVERED_MODELS = {'BaseModel', 'SRModel', 'SRGANModel', 'ESRGANModel', 'RealESRGANModel', 'RealESRNetModel',
                  'SwinIRModel'}
#: the train keys BasicSR's training pipeline itself reads, whatever the model
PIPELINE_TRAIN_KEYS = ('total_iter', 'warmup_iter')
_READS = re.compile(r"""(?:train_opt|self\.opt\[['"]train['"]\])(?:\.get\(|\[)\s*['"](\w+)['"]""")
#: what reads the fine-grained attention options, for the hint when a model ignores them
FA_KEYS = ('map_gan_opt', 'attention_opt')


def class_names(component):
    """The names a component answers to: its classes' names along its MRO (a function: its own name)."""
    if inspect.isclass(component):
        return [c.__name__ for c in component.__mro__ if c is not object]
    return [getattr(component, '__name__', str(component))]


def component_of(section, type_name):
    """The class (or metric function) a typed section's ``type`` names, or None when nothing is registered so."""
    if not isinstance(type_name, str):
        return None
    if section.registry in REGISTRIES:
        registry = REGISTRIES[section.registry]
        return registry.get(type_name) if type_name in registry else None
    if section.registry == 'optimizer':
        candidate = getattr(torch.optim, type_name, None)
        return candidate if inspect.isclass(candidate) and issubclass(candidate, torch.optim.Optimizer) else None
    if section.registry == 'scheduler':
        return SCHEDULERS.get(type_name)
    return None


def model_of(opt):
    name = opt.get('model_type')
    return MODEL_REGISTRY.get(name) if isinstance(name, str) and name in MODEL_REGISTRY else None


def signature_arguments(component):
    """Keyword names ``component(...)`` accepts from an option file, or None when it takes ``**kwargs``."""
    try:
        params = inspect.signature(component).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - PIPELINE_ARGUMENTS


def signature_default(component, name):
    """The default of ``component``'s argument ``name``, or :data:`SIGNATURE` when it has none there."""
    try:
        param = inspect.signature(component).parameters.get(name)
    except (TypeError, ValueError):
        return SIGNATURE
    return SIGNATURE if param is None or param.default is inspect.Parameter.empty else param.default


def train_options(model):
    """The ``train`` keys ``model`` reads, or None where that cannot be known.

    A class of this package declares them (``TRAIN_OPTIONS`` of its mixins); a class of BasicSR's is read
    from its source (``train_opt['x']``, ``train_opt.get('x')``, ``self.opt['train'][...]``). A user's class
    that declares nothing and reads ``train`` options itself makes the answer unknown (None: not checked);
    one that does not touch them (``class MyFAModel(FineGrainedAttentionMixin, SRGANModel): pass``) is checked.
    """
    if model is None:
        return None
    keys = set(PIPELINE_TRAIN_KEYS)
    for cls in model.__mro__:
        if cls is object or cls.__module__.startswith('torch'):
            continue
        if 'TRAIN_OPTIONS' in vars(cls):
            keys.update(vars(cls)['TRAIN_OPTIONS'])
        elif cls.__module__.startswith('basicsr.'):
            keys.update(_READS.findall(inspect.getsource(cls)))
        elif not cls.__module__.startswith('fasrgan_basicsr.'):
            try:
                source = inspect.getsource(cls)
            except (OSError, TypeError):
                return None
            if 'train' in source:
                return None
    return keys


def top_level_is_known(model):
    """Whether every class of ``model`` reads only top-level keys the table lists: BasicSR's SR models, this
    package's, and a user's class that reads no option itself."""
    for cls in model.__mro__:
        if cls is object or cls.__name__ in COVERED_MODELS or cls.__module__.startswith('fasrgan_basicsr.'):
            continue
        if cls.__module__.startswith(('basicsr.', 'torch')):
            return False
        try:
            if 'opt[' in inspect.getsource(cls) or 'opt.get(' in inspect.getsource(cls):
                return False
        except (OSError, TypeError):
            return False
    return True


@dataclass
class Applicable:
    """The keys a mapping may hold: table entries (with kinds) and, from a signature, names with no entry."""
    options: list
    who: str  # what reads them, for messages
    strict: bool  # unknown keys are problems
    plain_names: set = field(default_factory=set)  # accepted without a table entry (a component's signature)
    component: object = None
    message: str = 'key'  # 'argument' for a component's arguments, 'train' for a model's train keys
    any_reader: bool = False  # the reader is unknown: its keys are any reader's, none of theirs required

    def find(self, key):
        return next((o for o in self.options if key_matches(o.key, key)), None)

    def names(self):
        return sorted({o.key for o in self.options} | self.plain_names)


def _read_by(option, names):
    return not option.readers or any(n in option.readers for n in names)


def applicable(path, node, opt, is_train=True):
    """The :class:`Applicable` keys of the mapping ``node`` at key path ``path`` (a tuple), or None when the table
    has no section there (its contents are not checked)."""
    section = section_for(path)
    if section is None:
        return None
    entries = options_of(section.path)
    if section.chooser == 'pipeline':
        return Applicable(entries, section.path or 'the pipeline', strict=True)
    if section.chooser == 'dataset':
        if node.get('type') is None:  # reported as missing: any dataset's keys
            return Applicable(entries, 'any dataset', strict=True, any_reader=True)
        dataset = DATASET_REGISTRY.get(node['type']) if node['type'] in DATASET_REGISTRY else None
        names = class_names(dataset) if dataset else []
        covered = dataset is not None and any(o.readers and _read_by(o, names) for o in entries)
        return Applicable([o for o in entries if _read_by(o, names)], node.get('type') or 'the dataset',
                          strict=covered)
    model = model_of(opt)
    if section.chooser == 'model' and section.path == '':
        if model is None:  # no model (or an unknown one, reported as such): every key any model reads
            return Applicable(entries, 'any model', strict=True, any_reader=True)
        names = class_names(model)
        return Applicable([o for o in entries if _read_by(o, names)], opt['model_type'],
                          strict=top_level_is_known(model))
    if section.chooser == 'model':  # train
        allowed = train_options(model)
        if allowed is None:
            return Applicable(entries, opt.get('model_type') or 'the model', strict=False)
        return Applicable([o for o in entries if o.key in allowed], opt['model_type'], strict=True,
                          plain_names=allowed - {o.key for o in entries}, message='train')
    # a typed section: the component its type names
    component = component_of(section, node.get('type'))
    common = [o for o in entries if not o.readers]
    if component is None and node.get('type') is None:  # no type (reported as missing): any component's keys
        return Applicable(entries, f'any {section.registry}', strict=True, any_reader=True)
    if component is None:  # an unregistered type (reported as such): its keys cannot be known
        return Applicable(common, node['type'], strict=False)
    names = class_names(component)
    own = [o for o in entries if o.readers and _read_by(o, names)]
    signature = signature_arguments(component)
    if signature is None:  # **kwargs: only what the table says (when it knows the component at all)
        return Applicable(common + own, names[0], strict=bool(own), component=component, message='argument')
    plain = signature - {o.key for o in own}
    return Applicable(common + [o for o in own if o.key in signature], names[0], strict=True, plain_names=plain,
                      component=component, message='argument')


def _hint(key, names):
    close = difflib.get_close_matches(str(key), names, n=1)
    return f' Did you mean {close[0]}?' if close else ''


def _unknown(path_text, key, keys, opt):
    where = f'{path_text}:{key}' if path_text else str(key)
    names = keys.names()
    if keys.message == 'argument':
        return f'{where}: {keys.who} has no argument {key!r}.{_hint(key, names)}'
    if keys.message == 'train':
        if key in FA_KEYS:
            return (f'{where}: {keys.who} ignores it (fine-grained attention losses); use FASRGANModel, SRGANFAModel '
                    'or FAFsSRGANModel, or put FineGrainedAttentionMixin first in your model\'s bases (docs: "Mixing '
                    'the losses into your own BasicSR model").')
        return f'{where}: not an option of {keys.who} (it reads: {", ".join(names)}).{_hint(key, names)}'
    return f'{where}: not an option of {keys.who}.{_hint(key, names)}'


def _required(option, is_train):
    return option.required is True or (option.required == 'train' and is_train)


def walk(node, path, opt, problems, is_train=True):
    """Check the mapping ``node`` at key path ``path`` and every mapping below it; append problems."""
    keys = applicable(path, node, opt, is_train)
    path_text = ':'.join(map(str, path))

    def where(key):
        return f'{path_text}:{key}' if path_text else str(key)

    if keys is not None:
        for option in keys.options:
            if keys.any_reader and option.readers:
                continue
            if _required(option, is_train) and '*' not in option.key and node.get(option.key) is None:
                hint = ' (num_gpu: auto uses every GPU there is, 0 the CPU)' if option.path == 'num_gpu' else ''
                problems.append(f'{where(option.key)}: missing; expected {option.describe()}{hint}.')
            elif option.fill and option.key not in node:
                node[option.key] = option.default
    for key, value in list(node.items()):
        if keys is not None:
            option = keys.find(key)
            if option is None and key not in keys.plain_names:
                if keys.strict and key != 'type':
                    problems.append(_unknown(path_text, key, keys, opt))
                continue
            if option is not None and value is not None and not option.accepts(value):
                problems.append(f'{where(key)}: expected {option.describe()}, got {value!r}.')
                continue
            if option is not None and value is None and not option.nullable and _required(option, is_train):
                continue  # reported as missing above
        if isinstance(value, dict) and section_for(path + (key,)) is not None:
            walk(value, path + (key,), opt, problems, is_train)
        elif isinstance(value, dict) and any(section_matches(s.path, path + (key, '*')) for s in SECTIONS):
            for name, child in value.items():  # datasets, metrics: each entry is a section of its own
                if isinstance(child, dict):
                    walk(child, path + (key, name), opt, problems, is_train)
                else:
                    problems.append(f'{where(key)}:{name}: expected a mapping with type: ..., got {child!r}.')
