"""The one place that picks a backbone family from an arch: v1 (``small`` ...) or v2 (``v2_050`` ...)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import UsageError
from .mobilevit import ARCHS, MobileViT, Stage
from .mobilevit import resolve_arch as resolve_v1_arch
from .mobilevit_v2 import V2_ARCHS, MobileViTV2

# Every named arch, v1's then v2's.
ARCH_NAMES: tuple[str, ...] = (*ARCHS, *V2_ARCHS)


def is_v2_arch(arch: object) -> bool:
    """Whether ``arch`` names a MobileViT v2 width."""
    return isinstance(arch, str) and arch.lower() in V2_ARCHS


def resolve_arch(arch: str | Sequence[Stage | Sequence]) -> tuple[Stage, ...]:
    """The stages of a named arch of either family, or of a custom (v1) list of stages."""
    if is_v2_arch(arch):
        return V2_ARCHS[arch.lower()].stages  # type: ignore[union-attr]
    try:
        return resolve_v1_arch(arch)
    except ValueError as error:
        if isinstance(arch, str):
            raise UsageError(f"unknown MobileViT arch {arch!r}; valid archs: {', '.join(ARCH_NAMES)}") from None
        raise error


def build_backbone(arch: str | Sequence[Stage | Sequence] = "small", **options: Any) -> MobileViT:
    """A :class:`MobileViTV2` for a v2 arch name, else a (v1) :class:`MobileViT`; ``options`` go to it."""
    if isinstance(arch, str):
        resolve_arch(arch)  # an unknown name: the error lists both families' names
    if is_v2_arch(arch):
        return MobileViTV2(arch, **options)  # type: ignore[arg-type]
    return MobileViT(arch, **options)
