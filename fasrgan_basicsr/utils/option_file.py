"""Reading option files as plain data: the one YAML loader of this package.

BasicSR 1.4.2's ``parse_options`` reads YAML with a loader that builds Python objects (a
``!!python/object/apply:os.system`` tag in an option file runs that command). Here :func:`read_option_file`
reads YAML through a safe loader (mappings as ``OrderedDict`` like BasicSR, YAML's standard tags such as
``!!float 1e-4`` kept); a Python tag, a syntax error, a duplicated key or a document that is not a mapping
is one line naming the file and the line.
"""
from collections import OrderedDict
from os import path as osp

import yaml

from .errors import UserError

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
