"""The option table as a JSON Schema (draft-07), for editors: completion and typo marks while writing an option file.

It is made from the same :func:`~.option_structure.applicable` the option check uses, so a key the check accepts is
one the schema accepts: for every registered model, dataset, arch, loss and metric (and the optimizers and
schedulers BasicSR builds) whose keys are known, an ``if type is X then only these keys`` clause; where they cannot
be known (a user's component), anything. ``options/options.schema.json`` is this schema; an option file that starts
with ``# yaml-language-server: $schema=options.schema.json`` (``../options.schema.json`` one folder down) is checked
against it by editors with the YAML language server.
"""
import json

import torch
from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY, MODEL_REGISTRY

from .option_structure import SCHEDULERS, applicable
from .option_table import SECTIONS, options_of

DRAFT = 'http://json-schema.org/draft-07/schema#'
#: definition name of each section
DEFINITIONS = {'': 'top', 'datasets:*': 'dataset', 'datasets:*:io_backend': 'io_backend', 'network_g': 'network',
               'network_d': 'network', 'path': 'path', 'train': 'train', 'train:*_opt': 'loss',
               'train:optim_*': 'optimizer', 'train:scheduler': 'scheduler', 'val': 'val', 'val:metrics:*': 'metric',
               'logger': 'logger', 'logger:wandb': 'wandb', 'dist_params': 'dist_params'}
#: what a key holding a subsection refers to
SUBSECTIONS = {
    ('', 'datasets'): {'type': 'object', 'additionalProperties': {'$ref': '#/definitions/dataset'}},
    ('', 'network_g'): {'$ref': '#/definitions/network'},
    ('', 'network_d'): {'$ref': '#/definitions/network'},
    ('', 'path'): {'anyOf': [{'$ref': '#/definitions/path'}, {'type': 'null'}]},
    ('', 'train'): {'$ref': '#/definitions/train'},
    ('', 'val'): {'$ref': '#/definitions/val'},
    ('', 'logger'): {'$ref': '#/definitions/logger'},
    ('', 'dist_params'): {'$ref': '#/definitions/dist_params'},
    ('datasets:*', 'io_backend'): {'$ref': '#/definitions/io_backend'},
    ('train', 'optim_g'): {'$ref': '#/definitions/optimizer'},
    ('train', 'optim_d'): {'$ref': '#/definitions/optimizer'},
    ('train', 'scheduler'): {'$ref': '#/definitions/scheduler'},
    ('val', 'metrics'): {'anyOf': [{'type': 'object', 'additionalProperties': {'$ref': '#/definitions/metric'}},
                                   {'type': 'null'}]},
    ('logger', 'wandb'): {'anyOf': [{'$ref': '#/definitions/wandb'}, {'type': 'null'}]},
}
OPTIMIZERS = ('Adam', 'AdamW', 'Adamax', 'SGD', 'ASGD', 'RMSprop', 'Rprop')


def _value_schema(option):
    nested = SUBSECTIONS.get((option.section, option.key))
    if nested is None and option.section == 'train' and option.key.endswith('_opt'):
        nested = {'anyOf': [{'$ref': '#/definitions/loss'}, {'type': 'null'}]}
    if nested is not None:
        return nested
    if option.derived:
        return {}
    schema = option.kind.schema()
    if option.nullable:
        schema = {'anyOf': [schema, {'type': 'null'}]}
    return {**schema, 'description': option.meaning}


def _properties(options, plain_names=()):
    properties = {}
    for option in options:
        if option.key.endswith('*'):
            continue
        properties[option.key] = _value_schema(option)
    for name in sorted(plain_names):
        properties.setdefault(name, {})
    return properties


def _patterns(options):
    return {f'^{option.key[:-1]}.+$': _value_schema(option) for option in options if option.key.endswith('*')}


def _strict(options, plain_names=()):
    return {'type': 'object', 'properties': _properties(options, plain_names), 'patternProperties': _patterns(options),
            'additionalProperties': False}


def _required(options, is_train=True):
    return sorted({o.key for o in options if o.required is True or (o.required == 'train' and is_train)})


def _by_type(section_paths, names, node_for):
    """The definition of a typed section (its keys depend on its ``type``): every known component's clause.
    ``section_paths``: the sections that share the definition (``network_g`` and ``network_d``), their keys joined."""
    section_paths = (section_paths,) if isinstance(section_paths, str) else section_paths
    everything = list({o.key: o for path in section_paths for o in options_of(path)}.values())
    clauses = []
    for name in sorted(names):
        found = [applicable(_sample_path(path), node_for(name), {}, True) for path in section_paths]
        if any(keys is None or not keys.strict for keys in found):
            continue
        options = list({o.key: o for keys in found for o in keys.options}.values())
        plain_names = {n for keys in found for n in keys.plain_names} - {o.key for o in options}
        condition = {'properties': {'type': {'const': name}}, 'required': ['type']}
        clauses.append({'if': condition, 'then': _strict(options, plain_names)})
    definition = {'type': 'object', 'properties': _properties(everything), 'patternProperties': _patterns(everything)}
    required = _required([o for o in everything if not o.readers])
    if required:
        definition['required'] = required
    if clauses:
        definition['allOf'] = clauses
    return definition


def _top_level(models):
    """The top level: every key for completion; for each model whose keys are known, only its top-level keys and,
    under ``train``, only the ``train`` keys it reads."""
    everything = options_of('')
    clauses = []
    for name in sorted(models):
        opt = {'model_type': name}
        top, train = applicable((), opt, opt, True), applicable(('train',), {}, opt, True)
        then = _strict(top.options) if top.strict else {'properties': {}}
        if train.strict:
            then['properties']['train'] = _strict(train.options, train.plain_names)
        if top.strict or train.strict:
            clauses.append({'if': {'properties': {'model_type': {'const': name}}, 'required': ['model_type']},
                            'then': then})
    definition = {'type': 'object', 'properties': _properties(everything), 'patternProperties': _patterns(everything),
                  'required': _required([o for o in everything if not o.readers], is_train=False)}
    if clauses:
        definition['allOf'] = clauses
    return definition


def _sample_path(section_path):
    return tuple('x' if part == '*' else part.replace('*', 'x') for part in section_path.split(':'))


def _pipeline(section_path):
    options = options_of(section_path)
    definition = _strict(options)
    required = _required(options)
    if required:
        definition['required'] = required
    return definition


def registered(registry):
    return [name for name, _ in registry]


def build_schema():
    """The JSON Schema (a dict) of an option file."""
    definitions = {
        'dataset': _by_type('datasets:*', registered(DATASET_REGISTRY), lambda name: {'type': name}),
        'network': _by_type(('network_g', 'network_d'), registered(ARCH_REGISTRY), lambda name: {'type': name}),
        'loss': _by_type('train:*_opt', registered(LOSS_REGISTRY), lambda name: {'type': name}),
        'optimizer': _by_type('train:optim_*', [n for n in OPTIMIZERS if hasattr(torch.optim, n)],
                              lambda name: {'type': name}),
        'scheduler': _by_type('train:scheduler', list(SCHEDULERS), lambda name: {'type': name}),
        'metric': _by_type('val:metrics:*', registered(METRIC_REGISTRY), lambda name: {'type': name}),
        'train': {'type': 'object', 'properties': _properties(options_of('train'))},
    }
    for section in SECTIONS:
        name = DEFINITIONS[section.path]
        if name not in definitions and section.path:
            definitions[name] = _pipeline(section.path)
    return {'$schema': DRAFT, '$id': 'fasrgan_basicsr/options.schema.json',
            'title': 'fasrgan_basicsr option file (BasicSR 1.4.2 with the FASRGAN plugin)',
            'description': 'Generated from fasrgan_basicsr.pipeline.option_table; the option check is the authority.',
            'definitions': definitions, **_top_level(registered(MODEL_REGISTRY))}


def schema_text():
    """The schema as the text of ``options/options.schema.json``."""
    return json.dumps(build_schema(), indent=1, ensure_ascii=False, sort_keys=False) + '\n'

