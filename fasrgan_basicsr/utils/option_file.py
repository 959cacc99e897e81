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
from .files import regular_file_problem

try:
    _SafeLoader = yaml.CSafeLoader
except AttributeError:  # PyYAML without libyaml
    _SafeLoader = yaml.SafeLoader


class OptionFileError(UserError):
    """An option file that cannot be read as an option mapping (message names the file and line)."""


#: the largest option file read (the shipped ones are about 10 kB)
MAX_BYTES = 1 << 20
#: the deepest nesting of mappings and lists
MAX_DEPTH = 64
#: the most values a document may hold once its aliases are expanded (the shipped files hold a few hundred)
MAX_VALUES = 100_000


class OptionLoader(_SafeLoader):
    """YAML's safe loader, with mappings as ``OrderedDict``, duplicated keys refused, and bounded: a document whose
    aliases would expand past :data:`MAX_VALUES` values, or that refers to itself, is refused before any of it is
    built ("billion laughs")."""

    def get_single_data(self):
        node = self.get_single_node()
        if node is None:
            return None
        _refuse_expansion(node)
        return self.construct_document(node)


def _refuse_expansion(root):
    """Raise a YAML error when the node graph, aliases expanded, holds more than :data:`MAX_VALUES` values or a
    cycle. Counted without expanding anything: each node's expanded size is memoised."""
    sizes, on_path = {}, set()

    def size(node):
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in on_path:
            raise yaml.composer.ComposerError(None, None, 'a value refers to itself through an alias (a recursive '
                                                          'alias); option files hold plain data', node.start_mark)
        on_path.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(key) + size(value) for key, value in node.value)
        else:
            total = 1
        on_path.discard(id(node))
        if total > MAX_VALUES:
            raise yaml.composer.ComposerError(None, None, f'its aliases expand to more than {MAX_VALUES} values (a '
                                                          '"billion laughs" document?); refused before building it',
                                              node.start_mark)
        sizes[id(node)] = total
        return total

    size(root)


def _refuse_depth(text):
    """Raise a YAML error at the first mapping or list nested deeper than :data:`MAX_DEPTH` (read as events, which
    nest no call stack)."""
    depth = 0
    for event in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f'mappings and lists nest deeper than {MAX_DEPTH} levels',
                                                  event.start_mark)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def load_text(text):
    """YAML ``text`` as plain data through :class:`OptionLoader`, bounded in depth and expansion."""
    _refuse_depth(text)
    return yaml.load(text, Loader=OptionLoader)  # noqa: S506  (OptionLoader is YAML's safe loader)


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


def read_option_text(path):
    """The text of the option file at ``path``; raises :class:`OptionFileError` (one line) unless it is a regular file
    of at most :data:`MAX_BYTES` in UTF-8 (a FIFO or a device would block or never end)."""
    problem = regular_file_problem(path, 'YAML option file')
    if problem:
        raise OptionFileError(problem)
    if osp.getsize(path) > MAX_BYTES:
        raise OptionFileError(f'{path}: {osp.getsize(path)} bytes; an option file is at most {MAX_BYTES} bytes.')
    try:
        with open(path, encoding='utf-8') as f:
            return f.read(MAX_BYTES + 1)
    except UnicodeDecodeError as err:
        raise OptionFileError(f'{path}: not a text file (UTF-8 decoding failed at byte {err.start}).') from None


def read_option_file(path):
    """The option file at ``path`` (:func:`read_option_text`) as an ``OrderedDict``; raises :class:`OptionFileError`
    (one line) otherwise."""
    text = read_option_text(path)
    try:
        opt = load_text(text)
    except yaml.YAMLError as err:
        raise OptionFileError(_describe_yaml_error(path, err)) from None
    if not isinstance(opt, dict):
        found = 'an empty file' if opt is None else f'a {type(opt).__name__}'
        raise OptionFileError(f'{path}: expected a mapping of options (name:, model_type:, ...), found {found}.')
    return opt
