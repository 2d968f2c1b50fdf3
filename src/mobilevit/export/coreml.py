"""Core ML: an ML program converted by coremltools from ``torch.export``, taking an image.

The input is a Core ML image (``ct.ImageType``) that applies the model's preprocessing itself:
channel order (BGR for the official weights) and the pixel scale (``/255``). The model runs on
Apple devices only: coremltools converts on Linux, but predicts on macOS alone.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from ..data.transforms import Preprocessing
from ..errors import UsageError
from .runtime import import_runtime

PRECISIONS = ("fp16", "fp32")


class _NamedInput(torch.nn.Module):
    """The model with its input named ``image`` (torch.export names inputs after ``forward``'s arguments)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.model(image)


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
    model = copy.deepcopy(model).to(memory_format=torch.contiguous_format)  # as LiteRT needs; see tflite.py
    with torch.no_grad():
        program = torch.export.export(_NamedInput(model).eval(), (example,)).run_decompositions({})
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
