"""Core ML: an ML program converted by coremltools from ``torch.export``, taking an image.

The input is a Core ML image (``ct.ImageType``) that applies the model's preprocessing itself:
channel order (BGR for the official weights) and the pixel scale (``/255``). The model runs on
Apple devices only: coremltools converts on Linux, but predicts on macOS alone.

Core ML takes tensors of rank 5 at most. v1's unfold and fold reshape through rank 6 (batch,
channels and the two sides each split in patches), which is where other MobileViT ports fail to
convert (timm #1407, ml-cvnets #27); the program handed to coremltools (:func:`coreml_program`)
unfolds with ``pixel_unshuffle`` and folds with ``pixel_shuffle`` instead, as v2 does in the model
itself, so no tensor of the program has a rank above 5.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
import torch.nn.functional as F

from ..data.transforms import Preprocessing
from ..errors import UsageError
from ..models import MobileViTBlock
from .runtime import import_runtime

PRECISIONS = ("fp16", "fp32")


class _NamedInput(torch.nn.Module):
    """The model with its input named ``image`` (torch.export names inputs after ``forward``'s arguments)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.model(image)


class LowRankMobileViTBlock(MobileViTBlock):
    """A v1 :class:`~mobilevit.models.MobileViTBlock` whose unfold and fold pass through tensors of
    rank 4 at most: the same tokens in the same order (the block's own reshape to rank 6 is one copy
    in eager PyTorch; this one is two)."""

    def unfold(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        p = self.patch_size
        # (B, C, H, W) -> (B, C*P, nH, nW) -> (B, C, P, N) -> (B, P, N, C) -> (B*P, N, C)
        x = F.pixel_unshuffle(x, p).reshape(batch, channels, p * p, (height // p) * (width // p))
        return x.permute(0, 2, 3, 1).reshape(batch * p * p, (height // p) * (width // p), channels)

    def fold(self, x: torch.Tensor, batch: int, height: int, width: int, channels_last: bool = False) -> torch.Tensor:
        p = self.patch_size
        channels = x.shape[-1]
        # (B*P, N, C) -> (B, P, N, C) -> (B, C, P, N) -> (B, C*P, nH, nW) -> (B, C, H, W)
        x = x.reshape(batch, p * p, (height // p) * (width // p), channels).permute(0, 3, 1, 2)
        x = F.pixel_shuffle(x.reshape(batch, channels * p * p, height // p, width // p), p)
        return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def coreml_program(model: torch.nn.Module, example: torch.Tensor) -> torch.export.ExportedProgram:
    """The program :func:`export_coreml` hands to coremltools: ``model`` (already fused) in the
    default memory layout, its v1 blocks as :class:`LowRankMobileViTBlock`, its input named
    ``image``, exported for ``example``'s shape and decomposed to core ATen operators."""
    model = copy.deepcopy(model).to(memory_format=torch.contiguous_format)  # as LiteRT needs; see tflite.py
    for module in model.modules():
        if type(module) is MobileViTBlock:
            module.__class__ = LowRankMobileViTBlock
    with torch.no_grad():
        return torch.export.export(_NamedInput(model).eval(), (example,)).run_decompositions({})


def export_coreml(
    model: torch.nn.Module, example: torch.Tensor, path: Path, preprocessing: Preprocessing, precision: str = "fp16"
) -> None:
    """Write ``model`` (already fused) as a Core ML ``.mlpackage`` for one (height, width) image,
    computing in float16 (the Neural Engine's precision) or float32."""
    ct = import_runtime("coremltools", "exporting to Core ML")
    if precision not in PRECISIONS:
        raise UsageError(f"unknown Core ML precision {precision!r}; expected one of {', '.join(PRECISIONS)}")
    if len(set(preprocessing.std)) != 1:
        raise UsageError(f"a Core ML image input scales every channel alike; this model's std is {preprocessing.std}")
    scale = 1.0 / preprocessing.std[0]
    image = ct.ImageType(
        name="image",
        shape=tuple(example.shape),
        scale=scale,
        bias=[-mean * scale for mean in preprocessing.mean],
        color_layout=ct.colorlayout.BGR if preprocessing.channel_order == "BGR" else ct.colorlayout.RGB,
    )
    program = coreml_program(model, example)
    compute_precision = ct.precision.FLOAT16 if precision == "fp16" else ct.precision.FLOAT32
    converted = ct.convert(
        program,
        inputs=[image],
        outputs=[ct.TensorType(name="logits")],
        convert_to="mlprogram",
        compute_precision=compute_precision,
        minimum_deployment_target=ct.target.iOS16,
    )
    converted.save(str(path))
