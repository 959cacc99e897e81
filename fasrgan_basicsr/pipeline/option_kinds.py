"""The kinds of value an option takes: each checks a value, says in words what it expects, and gives its JSON Schema.

One kind object serves the option check (:mod:`.options_check`), the options reference (:mod:`.option_reference`)
and the editor-facing JSON Schema (:mod:`.option_schema`), so the three say the same thing.
"""
import re
from dataclasses import dataclass


def is_int(value):
    """An integer, or a float with an integral value (BasicSR writes ``total_iter: !!float 4e5``)."""
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer())


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bound_text(low, high, low_open=False, high_open=False):
    if low is not None and high is not None:
        return f' in {"(" if low_open else "["}{low:g}, {high:g}{")" if high_open else "]"}'
    if low is not None:
        return f' {">" if low_open else ">="} {low:g}'
    if high is not None:
        return f' {"<" if high_open else "<="} {high:g}'
    return ''


def _bound_schema(low, high, low_open=False, high_open=False):
    schema = {}
    if low is not None:
        schema['exclusiveMinimum' if low_open else 'minimum'] = low
    if high is not None:
        schema['exclusiveMaximum' if high_open else 'maximum'] = high
    return schema


class Kind:
    """What an option's value must be."""

    def check(self, value):  # pragma: no cover  (every kind defines it)
        raise NotImplementedError

    def describe(self):  # pragma: no cover
        raise NotImplementedError

    def schema(self):  # pragma: no cover
        raise NotImplementedError

    def plural(self):
        """What several such values are, for a list's description (``positive integers``)."""
        return f'values, each {self.describe()}'


@dataclass(frozen=True)
class Int(Kind):
    low: float = None
    high: float = None

    def check(self, value):
        return is_int(value) and (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def describe(self):
        if self.low == 1 and self.high is None:
            return 'a positive integer'
        return 'an integer' + _bound_text(self.low, self.high)

    def plural(self):
        if self.low == 1 and self.high is None:
            return 'positive integers'
        return 'integers' + _bound_text(self.low, self.high)

    def schema(self):
        return {'type': 'integer', **_bound_schema(self.low, self.high)}


@dataclass(frozen=True)
class Number(Kind):
    low: float = None
    high: float = None
    low_open: bool = False
    high_open: bool = False

    def check(self, value):
        if not is_number(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)

    def describe(self):
        if self.low == 0 and self.low_open and self.high is None:
            return 'a positive number'
        return 'a number' + _bound_text(self.low, self.high, self.low_open, self.high_open)

    def plural(self):
        if self.low == 0 and self.low_open and self.high is None:
            return 'positive numbers'
        return 'numbers' + _bound_text(self.low, self.high, self.low_open, self.high_open)

    def schema(self):
        return {'type': 'number', **_bound_schema(self.low, self.high, self.low_open, self.high_open)}


@dataclass(frozen=True)
class Bool(Kind):
    def check(self, value):
        return isinstance(value, bool)

    def describe(self):
        return 'true or false'

    def schema(self):
        return {'type': 'boolean'}


@dataclass(frozen=True)
class Str(Kind):
    """A string; ``pattern`` (a regular expression the whole string matches) and its description narrow it."""
    pattern: str = None
    what: str = 'a string'

    def check(self, value):
        return isinstance(value, str) and (self.pattern is None or re.fullmatch(self.pattern, value) is not None)

    def describe(self):
        return self.what

    def schema(self):
        return {'type': 'string', **({'pattern': f'^(?:{self.pattern})$'} if self.pattern else {})}


@dataclass(frozen=True)
class Choice(Kind):
    """One of the listed values."""
    values: tuple

    def check(self, value):
        return any(value == v and type(value) is type(v) for v in self.values)

    def describe(self):
        return 'one of ' + ', '.join('~' if v is None else str(v).lower() if isinstance(v, bool) else str(v)
                                     for v in self.values)

    def schema(self):
        return {'enum': list(self.values)}


@dataclass(frozen=True)
class ListOf(Kind):
    """A list of ``item`` values, of ``length`` items when given (``length`` may be a ``(min, max)`` pair)."""
    item: Kind
    length: object = None

    def _bounds(self):
        if self.length is None:
            return None, None
        return self.length if isinstance(self.length, tuple) else (self.length, self.length)

    def check(self, value):
        low, high = self._bounds()
        return isinstance(value, list) and (low is None or low <= len(value) <= high) and all(
            self.item.check(v) for v in value)

    def describe(self):
        low, high = self._bounds()
        if low is None:
            return f'a list of {self.item.plural()}'
        count = {2: 'two', 3: 'three'}.get(low, str(low)) if low == high else f'{low} to {high}'
        return f'{count} {self.item.plural()}'

    def schema(self):
        low, high = self._bounds()
        schema = {'type': 'array', 'items': self.item.schema()}
        if low is not None:
            schema.update(minItems=low, maxItems=high)
        return schema


@dataclass(frozen=True)
class Mapping(Kind):
    """A mapping: a section of its own, whose keys the table lists."""
    what: str = 'a mapping'

    def check(self, value):
        return isinstance(value, dict)

    def describe(self):
        return self.what

    def schema(self):
        return {'type': 'object'}


@dataclass(frozen=True)
class AnyOf(Kind):
    """Any value one of ``kinds`` accepts."""
    kinds: tuple
    what: str = None

    def check(self, value):
        return any(k.check(value) for k in self.kinds)

    def describe(self):
        return self.what or ' or '.join(k.describe() for k in self.kinds)

    def schema(self):
        return {'anyOf': [k.schema() for k in self.kinds]}


@dataclass(frozen=True)
class Anything(Kind):
    what: str = 'any value'

    def check(self, value):
        return True

    def describe(self):
        return self.what

    def schema(self):
        return {}
