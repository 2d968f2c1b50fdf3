"""The one table of named models: architecture, preprocessing, published figures, weights."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from .checks import at_least, at_most, check_types, expected, one_of
from .models import ImageClassifier, build_classifier

_MMPRETRAIN_URL = "https://download.openmmlab.com/mmclassification/v0/mobilevit/"


@dataclass(frozen=True)
class Preprocessing:
    """How images are turned into the tensor a set of weights expects.

    Resize the short edge to ``resize_short`` (``interpolation``), centre-crop ``crop_size``,
    order the channels as ``channel_order`` and map pixel values ``v`` to ``(v - mean) / std``.
    """

    resize_short: int = 288
    crop_size: int = 256
    interpolation: str = "bilinear"
    channel_order: str = "BGR"
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (255.0, 255.0, 255.0)

    def __post_init__(self) -> None:
        check_types(self)
        at_least(self, "crop_size", 1)
        at_least(self, "resize_short", self.crop_size, f"crop_size ({self.crop_size})")
        at_most(self, "resize_short", MAX_RESIZE_SHORT)
        one_of(self, "interpolation", INTERPOLATIONS)
        one_of(self, "channel_order", ("RGB", "BGR"))
        if not all(value > 0 for value in self.std):
            raise expected("std", "three positive numbers", self.std)


# The resize modes of mobilevit.data.transforms.resize_short_edge (half-pixel centres, no antialiasing).
INTERPOLATIONS = ("bilinear", "bicubic")
# Beyond this short edge every image would exceed mobilevit.data.image.MAX_RESIZED_PIXELS.
MAX_RESIZE_SHORT = 4096


@dataclass(frozen=True)
class ZooModel:
    """A named model with its published figures (ImageNet-1k val) and its official weights."""

    name: str
    arch: str
    config: str
    url: str
    params_m: float
    flops_g: float
    top1: float
    top5: float
    num_classes: int = 1000
    input_size: int = 256
    preprocessing: Preprocessing = Preprocessing()

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    @property
    def hash_prefix(self) -> str:
        """The sha256 prefix that the checkpoint's file name carries (``...-cb4f741c.pth``)."""
        return Path(self.filename).stem.rsplit("-", 1)[-1]


MODELS: dict[str, ZooModel] = {
    record.name: record
    for record in (
        ZooModel(
            name="mobilevit-xxsmall_3rdparty_in1k", arch="xx_small",
            config="configs/mobilevit/mobilevit-xxsmall_8xb128_in1k.py",
            url=_MMPRETRAIN_URL + "mobilevit-xxsmall_3rdparty_in1k_20221018-77835605.pth",
            params_m=1.27, flops_g=0.42, top1=69.02, top5=88.91),
        ZooModel(
            name="mobilevit-xsmall_3rdparty_in1k", arch="x_small",
            config="configs/mobilevit/mobilevit-xsmall_8xb128_in1k.py",
            url=_MMPRETRAIN_URL + "mobilevit-xsmall_3rdparty_in1k_20221018-be39a6e7.pth",
            params_m=2.32, flops_g=1.05, top1=74.75, top5=92.32),
        ZooModel(
            name="mobilevit-small_3rdparty_in1k", arch="small",
            config="configs/mobilevit/mobilevit-small_8xb128_in1k.py",
            url=_MMPRETRAIN_URL + "mobilevit-small_3rdparty_in1k_20221018-cb4f741c.pth",
            params_m=5.58, flops_g=2.03, top1=78.25, top5=94.09),
    )
}


def list_models() -> list[str]:
    """Names of the zoo's models."""
    return list(MODELS)


def get_record(name: str) -> ZooModel:
    """The zoo record of ``name``; an unknown name lists the known ones."""
    if name not in MODELS:
        close = difflib.get_close_matches(name, MODELS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown model {name!r}.{hint} Known models: {', '.join(MODELS)}")
    return MODELS[name]


def get_model(name: str, pretrained: bool | str | os.PathLike = False, **options) -> ImageClassifier:
    """Build a zoo model; ``pretrained`` is False, True (the official weights) or a checkpoint path/URL.

    ``options`` go to :func:`~mobilevit.models.build_classifier` (``num_classes``, ``out_indices`` ...).
    """
    record = get_record(name)
    options.setdefault("num_classes", record.num_classes)
    model = build_classifier(record.arch, **options)
    model.preprocessing = record.preprocessing  # what inference_model prepares images with
    if pretrained is not False:
        from .checkpoint import load_checkpoint

        # a URL (the official weights with pretrained=True) is downloaded once into the cache
        load_checkpoint(model, record.url if pretrained is True else pretrained)
    return model
