"""The settings that turn a detector's raw outputs into detections, apart from the detector, so
that a config reads them without importing torchvision."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..checks import at_least, check_types, fraction, image_side
from ..data.transforms import MAX_RESIZE_SHORT


@dataclass(frozen=True)
class DecodingSettings:
    """How raw outputs become detections (ml-cvnets' evaluation settings): the input size the
    anchors are laid over, and the score threshold, NMS IoU and counts of the post-processing.

    They shape no tensor, so every file we write records them beside the weights (our
    ``.safetensors`` header, a training config's ``detection`` section, an export's sidecar); a
    value out of range raises a :class:`~mobilevit.checks.FieldError` naming the field.
    """

    image_size: int = 320
    score_thresh: float = 0.01
    nms_thresh: float = 0.5
    topk_candidates: int = 400  # per class, before NMS
    detections_per_img: int = 200

    def __post_init__(self) -> None:
        check_types(self)
        at_least(self, "image_size", 32)
        image_side("image_size", self.image_size, MAX_RESIZE_SHORT)
        for name in ("score_thresh", "nms_thresh"):
            fraction(self, name)
        for name in ("topk_candidates", "detections_per_img"):
            at_least(self, name, 1)

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> DecodingSettings:
        """The settings among ``values`` (a header, a sidecar, a config section), the others left out."""
        return cls(**{field.name: values[field.name] for field in dataclasses.fields(cls) if field.name in values})

    def as_dict(self) -> dict[str, Any]:
        """The settings by name, as our files record them."""
        return dataclasses.asdict(self)
