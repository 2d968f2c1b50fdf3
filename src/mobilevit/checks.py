"""Checks of the field values of frozen dataclasses (the config sections, the zoo's preprocessing).

Each section's ``__post_init__`` calls :func:`check_types` and then its range checks; a bad value
raises :class:`FieldError` naming the field, which :func:`mobilevit.config.from_dict` turns into a
one-line ``ConfigError`` naming the config file and the dotted key.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Sequence
from typing import Any

from .errors import UsageError

_TYPE_WORDS = {bool: "True or False", int: "an integer", float: "a number", str: "a string"}
_PLURAL_WORDS = {int: "integers", float: "numbers", str: "strings"}


class FieldError(UsageError):
    """A field of a dataclass with a value it cannot take: ``field`` names it, ``problem`` says why."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field
        self.problem = problem


def expected(field: str, what: str, value: Any) -> FieldError:
    """The error of ``field`` holding ``value`` where ``what`` (``"at least 1"``) was expected."""
    return FieldError(field, f"must be {what}, got {value!r}")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def check_types(section: Any) -> None:
    """Check every field of ``section`` against its type hint: bools are not numbers, an int is a
    number, tuples are lists or tuples of the hinted length and element type; ``Any`` is left to
    the section's own checks."""
    for name, hint in _hints(type(section)).items():
        value = getattr(section, name)
        if typing.get_origin(hint) is tuple:
            _check_tuple(name, hint, value)
        elif hint in _TYPE_WORDS:
            if not is_of_type(value, hint):
                raise expected(name, _TYPE_WORDS[hint], value)
        elif dataclasses.is_dataclass(hint) and not isinstance(value, hint):
            raise expected(name, f"a {hint.__name__} section (a dict)", value)


def is_of_type(value: Any, kind: type) -> bool:
    """Whether ``value`` is a ``kind``, where bools are only bools and ints are also floats."""
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def _check_tuple(name: str, hint: Any, value: Any) -> None:
    arguments = typing.get_args(hint)
    variable = len(arguments) == 2 and arguments[1] is Ellipsis
    kind = arguments[0]
    what = f"a list of {'' if variable else f'{len(arguments)} '}{_PLURAL_WORDS[kind]}"
    if not isinstance(value, (list, tuple)) or (not variable and len(value) != len(arguments)):
        raise expected(name, what, value)
    if not all(is_of_type(item, kind) for item in value):
        raise expected(name, what, value)


def at_least(section: Any, name: str, low: float, what: str = "") -> None:
    """``section.name >= low``; ``what`` names the bound when it is another field."""
    value = getattr(section, name)
    if value < low:
        raise expected(name, f"at least {what or low}", value)


def at_most(section: Any, name: str, high: float, what: str = "") -> None:
    """``section.name <= high``; ``what`` names the bound when it is another field."""
    value = getattr(section, name)
    if value > high:
        raise expected(name, f"at most {what or high}", value)


def image_side(field: str, value: int, limit: int) -> None:
    """Refuse an image side of more than ``limit`` pixels, saying what one such image would take."""
    if value > limit:
        raise FieldError(
            field,
            f"must be at most {limit} pixels, got {value}: one {value}x{value} image alone would take "
            f"{_megabytes(value * value * 12)} as float32 RGB, beyond the {_megabytes(limit * limit * 12)} of the "
            f"limit (docs/robustness.md)",
        )


def _megabytes(size: int) -> str:
    return f"{size / 1e6:,.0f} MB"


def positive(section: Any, name: str) -> None:
    """``section.name > 0``."""
    value = getattr(section, name)
    if not value > 0:
        raise expected(name, "positive", value)


def fraction(section: Any, name: str) -> None:
    """``0 <= section.name < 1``."""
    value = getattr(section, name)
    if not 0 <= value < 1:
        raise expected(name, "in [0, 1)", value)


def one_of(section: Any, name: str, choices: Sequence[str]) -> None:
    """``section.name`` is one of ``choices``."""
    value = getattr(section, name)
    if value not in choices:
        raise expected(name, f"one of {', '.join(map(repr, choices))}", value)
