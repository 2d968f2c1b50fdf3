"""Config files: Python files with ``_base_`` inheritance, checked strictly against typed sections.

A config file assigns top-level dicts (``model = dict(arch='small')``). ``_base_`` names files
(relative to the config) whose values are merged first; a child dict updates its base key by key,
unless it carries ``_delete_=True``. Command-line overrides (``optim.lr=0.001``) are applied
last. The merged dict is then read into the dataclasses below: an unknown key is an error that
names the closest valid one.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import json
import os
import runpy
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .models import ImageClassifier, build_classifier
from .zoo import Preprocessing


class ConfigError(ValueError):
    """A config file or override that cannot be read or does not fit the schema."""


@dataclass(frozen=True)
class ModelConfig:
    """Arguments of :func:`mobilevit.models.build_classifier`."""

    arch: Any = "small"  # an arch name or a list of stages
    num_classes: int = 1000
    dropout: float = 0.0
    label_smoothing: float = 0.0
    drop_rate: float = 0.0
    out_indices: tuple[int, ...] = (-1,)
    frozen_stages: int = -1
    norm_eval: bool = False


@dataclass(frozen=True)
class DataConfig:
    """Where the images are and how evaluation images are preprocessed."""

    preprocessing: Preprocessing = Preprocessing()


@dataclass(frozen=True)
class Config:
    """A whole resolved config."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)


def load_config(path: str | os.PathLike, overrides: Sequence[str] = ()) -> Config:
    """Read a config file, its bases and ``key.sub=value`` overrides into a checked :class:`Config`."""
    raw = _read_with_bases(Path(path), chain=())
    for override in overrides:
        _apply_override(raw, override)
    return from_dict(Config, raw, where=str(path))


def build_model(config: Config) -> ImageClassifier:
    """The classifier a config describes."""
    return build_classifier(**dataclasses.asdict(config.model))


def to_dict(config: Config) -> dict[str, Any]:
    """A plain, JSON-serialisable dict of a config (saved next to every checkpoint)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def _read_with_bases(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    path = path.resolve()
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    if path in chain:
        raise ConfigError(f"config files inherit from each other in a cycle: {' -> '.join(map(str, chain + (path,)))}")
    try:
        namespace = runpy.run_path(str(path))
    except Exception as error:  # a config is user code: report where it failed
        raise ConfigError(f"cannot execute config {path}: {type(error).__name__}: {error}") from error
    bases = namespace.get("_base_", [])
    merged: dict[str, Any] = {}
    for base in [bases] if isinstance(bases, str) else bases:
        _merge(merged, _read_with_bases(path.parent / base, chain + (path,)))
    own = {
        key: value for key, value in namespace.items()
        if not key.startswith("_") and not isinstance(value, (types.ModuleType, types.FunctionType, type))
    }
    _merge(merged, own)
    return merged


def _merge(base: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and value.get("_delete_"):
            base[key] = {k: v for k, v in value.items() if k != "_delete_"}
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _apply_override(raw: dict[str, Any], override: str) -> None:
    key, separator, text = override.partition("=")
    if not separator or not key:
        raise ConfigError(f"override {override!r} is not of the form key.sub=value")
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = text  # a bare word is a string
    *parents, leaf = key.split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {override!r}: {part!r} is not a section")
    node[leaf] = value


def from_dict(schema: type, raw: Any, where: str, prefix: str = "") -> Any:
    """Build dataclass ``schema`` from ``raw``, refusing unknown keys with a suggestion.

    ``where`` (the file) and ``prefix`` (the dotted section, ``optim.``) locate errors.
    """
    if dataclasses.is_dataclass(raw) and isinstance(raw, schema):
        return raw
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: {prefix.rstrip('.') or 'the config'} must be a dict, got {raw!r}")
    fields = {f.name: f for f in dataclasses.fields(schema)}
    hints = typing.get_type_hints(schema)
    values = {}
    for key, value in raw.items():
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{where}: unknown key {prefix + key!r}{hint} Valid keys: {', '.join(fields)}")
        values[key] = _coerce(hints[key], value, where, f"{prefix}{key}")
    return schema(**values)


def _coerce(hint: Any, value: Any, where: str, key: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where, prefix=f"{key}.")
    origin = typing.get_origin(hint)
    if origin is tuple and isinstance(value, (list, tuple)):
        return tuple(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, bool, str) and not isinstance(value, hint):
        raise ConfigError(f"{where}: {key} must be {hint.__name__}, got {value!r}")
    return value
