"""The errors mobilevit raises on purpose: each says what a user passed or has, and the fix.

Every class derives from :class:`MobileViTError`; the command line shows these (and the OS errors
of files) as one line, any other exception as the bug it is, with its traceback.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any


class MobileViTError(Exception):
    """The base of mobilevit's own errors (with a built-in error class beside it, which callers catch)."""


class UsageError(MobileViTError, ValueError):
    """A value mobilevit cannot use: an argument, an option, a file's content. The message names it
    and what was expected."""


class ArgumentError(UsageError):
    """Arguments of a library call that do not go together or do not apply.

    ``template`` names each argument as ``{name}``; ``arguments`` gives the value passed, or ``...``
    to name the argument alone. The message spells them as Python takes them (``precision='bf16'``,
    ``force=``); :meth:`render` spells them another way: the command line as its flags
    (``--precision bf16``, ``--force``).
    """

    def __init__(self, template: str, **arguments: Any) -> None:
        self.template = template
        self.arguments = arguments
        super().__init__(self.render(python_argument))

    def render(self, spell: Callable[[str, Any], str]) -> str:
        """The message with each argument spelled by ``spell(name, value)``."""

        def replace(match: re.Match) -> str:
            name = match.group(1)
            return spell(name, self.arguments[name]) if name in self.arguments else match.group(0)

        return re.sub(r"\{(\w+)\}", replace, self.template)


def python_argument(name: str, value: Any) -> str:
    """An argument as a Python call spells it: ``name=value``, or ``name=`` alone for ``...``."""
    return f"{name}=" if value is ... else f"{name}={value!r}"


class OutputExistsError(ArgumentError, FileExistsError):
    """A file a call would replace, where it was not told to."""


class MissingPackageError(MobileViTError, ImportError):
    """An optional package a feature needs is not installed; the message says what to install."""


class DivergedError(MobileViTError, FloatingPointError):
    """A training run whose loss or weights stopped being finite; the message says where and what to try."""
