"""What a backbone's feature maps are: channels, reduction and module per level (timm's ``FeatureInfo``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import UsageError


@dataclass(frozen=True)
class FeatureLevel:
    """One level of a backbone: its channels, its stride from the input and the module giving it."""

    channels: int
    reduction: int
    module: str


class FeatureInfo:
    """A backbone's levels and those it returns (``out_indices``), read as timm's ``feature_info``.

    ``channels()``, ``reduction()`` and ``module_name()`` list the returned levels in the order the
    backbone returns them; given an index, they answer for that returned level. ``info[i]`` and
    ``len(info)`` cover every level, as timm's do; ``get_dicts()`` gives timm's dicts
    (``num_chs``, ``reduction``, ``module``) of the returned levels.
    """

    def __init__(self, levels: Sequence[FeatureLevel], out_indices: Sequence[int]) -> None:
        self.levels = tuple(levels)
        if not all(0 <= index < len(self.levels) for index in out_indices):
            raise UsageError(f"out_indices {tuple(out_indices)} must be level numbers in [0, {len(self.levels) - 1}]")
        self.out_indices = tuple(out_indices)

    def _get(self, field: str, index: int | None) -> list | int | str:
        if index is None:
            return [getattr(self.levels[level], field) for level in self.out_indices]
        return getattr(self.levels[self.out_indices[index]], field)

    def channels(self, index: int | None = None) -> list[int] | int:
        return self._get("channels", index)  # type: ignore[return-value]

    def reduction(self, index: int | None = None) -> list[int] | int:
        return self._get("reduction", index)  # type: ignore[return-value]

    def module_name(self, index: int | None = None) -> list[str] | str:
        return self._get("module", index)  # type: ignore[return-value]

    def get_dicts(self) -> list[dict[str, int | str]]:
        return [
            {"num_chs": level.channels, "reduction": level.reduction, "module": level.module}
            for level in (self.levels[index] for index in self.out_indices)
        ]

    def __getitem__(self, index: int) -> dict[str, int | str]:
        level = self.levels[index]
        return {"num_chs": level.channels, "reduction": level.reduction, "module": level.module}

    def __len__(self) -> int:
        return len(self.levels)

    def __repr__(self) -> str:
        return f"FeatureInfo({list(self.levels)}, out_indices={self.out_indices})"
