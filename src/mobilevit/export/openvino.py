"""OpenVINO: an IR converted from our ONNX export, optionally int8 through NNCF, and OpenVINO's
CPU runtime as a backend.

The IR keeps float32 weights whatever the precision: the precision is how OpenVINO computes, an
``INFERENCE_PRECISION_HINT`` given when the model is compiled. The file records the precision it
was exported for (rt_info ``mobilevit/precision``), which :class:`OpenVinoRunner` applies.
Plain OpenVINO users pass the hint themselves: OpenVINO's default on CPUs with AVX512-BF16 or AMX
is bfloat16, not float32.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import UsageError
from ..models.mobilevit_v2 import SeparableSelfAttention
from .onnx import export_onnx
from .runtime import check_batch, import_runtime, run_in_slices

PRECISIONS = ("fp32", "bf16")
PRECISION_HINTS = {"fp32": "f32", "bf16": "bf16"}
PRECISION_KEY = ["mobilevit", "precision"]
MAX_STATIC_PROGRAMS = 4  # input shapes whose bf16 programs a runner keeps
# A bf16 program runs a larger batch in slices whose largest feature map holds at most this many
# elements (32 MiB in bf16): on an Intel Xeon with AMX a batch of 32 of S or v2_100 (2**21 elements
# a map at 256x256) was 1.07-1.10x faster in slices of 8, and XXS (2**19) fastest whole.
SLICE_ELEMENTS = 2**24
# The nodes of MobileViT v2's separable attention past its query/keys/values projection (the split,
# the softmax over patches, the weighted sum, the ReLU(values) x context product and ``out_proj``),
# which int8 keeps in float: docs/deployment.md, "MobileViT v2".
V2_FLOAT_ATTENTION = r".*/attn/(?!qkv_proj/).*"
# The stem (the 3x3 convolution on the image), which int8 keeps in float for every model with one:
# on the demo trained on an Intel Xeon with AMX, all-int8 lost 0.8 point of top-1 (98.0 % the same
# top class) and the float stem 0.4 (98.4 %), never worse than all-int8 on three other demo models,
# at most 1.6 % slower (XXS and S at batch 1; docs/deployment.md, "OpenVINO").
FLOAT_STEM = r"/backbone/stem/.*"


def export_openvino(
    model: torch.nn.Module,
    example: torch.Tensor,
    path: Path,
    dynamic: bool,
    precision: str = "fp32",
    calibration: torch.Tensor | None = None,
) -> None:
    """Write ``model`` (already fused) as an OpenVINO IR (``path`` .xml beside its .bin), through our
    ONNX export; int8 (NNCF's post-training quantization) when ``calibration`` images are given.

    The batch size stays free: OpenVINO's fused attention and LayerNorm kernels, which it uses for
    fixed shapes only, moved float32 logits by 1.4 % of their range on the demo model.
    """
    ov = import_runtime("openvino", "exporting to OpenVINO")
    if precision not in PRECISIONS:
        raise UsageError(f"unknown OpenVINO precision {precision!r}; expected one of {', '.join(PRECISIONS)}")
    with tempfile.TemporaryDirectory() as workdir:
        onnx_path = Path(workdir) / "model.onnx"
        export_onnx(model, example, onnx_path, dynamic)
        ov_model = ov.convert_model(str(onnx_path))
    if calibration is not None:
        backbone = getattr(model, "backbone", None)
        float_stem = [FLOAT_STEM] if hasattr(backbone, "stem") else []
        float_attention = any(isinstance(module, SeparableSelfAttention) for module in model.modules())
        ov_model = _quantize(ov_model, calibration, float_stem + ([V2_FLOAT_ATTENTION] if float_attention else []))
    ov_model.set_rt_info(precision, PRECISION_KEY)
    ov.save_model(ov_model, str(path), compress_to_fp16=False)


def _quantize(ov_model, calibration: torch.Tensor, float_patterns: list[str]):
    """NNCF's int8 post-training quantization: per-channel weights, activations calibrated on the
    images with a zero point (NNCF's mixed preset), and the full bias correction. On the demo model
    trained with the fused AdamW: 98.4 % the same top class as float32 and 94.0 % top-1 (float32
    94.4), against 97.6 % and 93.6 % with symmetric activations, which cost about 6 % less time at
    batch 1 (XXS and S on the AMD EPYC); fast bias correction lost more still on an earlier demo.

    The nodes whose names match ``float_patterns`` stay float (each pattern must match one)."""
    nncf = import_runtime("nncf", "int8 quantization for OpenVINO")
    _import_cpp_extension_quietly()
    images = [image[None].numpy() for image in calibration.float()]
    ignored = {"ignored_scope": nncf.IgnoredScope(patterns=float_patterns)} if float_patterns else {}
    logger = logging.getLogger("nncf")  # it lists every node an ignored scope keeps float, on stdout
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        return nncf.quantize(
            ov_model,
            nncf.Dataset(images),
            subset_size=len(images),
            fast_bias_correction=False,
            preset=nncf.QuantizationPreset.MIXED,
            **ignored,
        )
    finally:
        logger.setLevel(level)


def _import_cpp_extension_quietly() -> None:
    """Import ``torch.utils.cpp_extension`` with its logger quiet. NNCF imports it to tell whether a
    model is a torch one, and on import it logs "No CUDA runtime is found" wherever CUDA_HOME
    exists without a GPU: a warning about nothing this export uses."""
    logger = logging.getLogger("torch.utils.cpp_extension")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        import torch.utils.cpp_extension  # noqa: F401
    finally:
        logger.setLevel(level)


class OpenVinoRunner:
    """Logits of an OpenVINO IR (or an ONNX file) computed by OpenVINO on the CPU, as
    :class:`~mobilevit.export.OnnxRunner` computes them with ONNX Runtime.

    ``precision`` (fp32 or bf16) defaults to the one the file was exported for, else fp32.
    """

    def __init__(self, path: str | os.PathLike, threads: int | None = None, precision: str | None = None) -> None:
        ov = import_runtime("openvino", "running an OpenVINO model")
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"OpenVINO model not found: {path}")
        core = ov.Core()
        try:
            model = core.read_model(str(path))
        except RuntimeError as error:
            raise UsageError(f"cannot load OpenVINO model {path}: {error}") from None
        recorded = model.get_rt_info(PRECISION_KEY).astype(str) if model.has_rt_info(PRECISION_KEY) else "fp32"
        self.precision = precision or recorded
        if self.precision not in PRECISIONS:
            raise UsageError(f"unknown OpenVINO precision {self.precision!r}; expected one of {', '.join(PRECISIONS)}")
        self.config = {"INFERENCE_PRECISION_HINT": PRECISION_HINTS[self.precision], "PERFORMANCE_HINT": "LATENCY"}
        if threads is not None:
            self.config["INFERENCE_NUM_THREADS"] = threads
        self.core, self.model, self.path = core, model, path
        self.input_shape = tuple(
            dimension.get_length() if dimension.is_static else "batch" if axis == 0 else "size"
            for axis, dimension in enumerate(model.inputs[0].get_partial_shape())
        )
        # bf16 compiles one program per input shape: with every size fixed, OpenVINO fuses attention
        # and LayerNorm into single kernels (XXS 1.55x at batch 1: docs/deployment.md). Those kernels
        # move float32 logits by up to 1.4 % of their range, and int8 gained only 1.08x from them,
        # so fp32 and int8 keep one program for every shape.
        self.static_shapes = self.precision == "bf16" and not is_quantized(model)
        self.programs: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self.slices: dict[tuple[int, ...], int] = {}
        self.compiled = None if self.static_shapes else core.compile_model(model, "CPU", self.config)

    def program(self, shape: tuple[int, ...]) -> Any:
        """The compiled program for inputs of ``shape``: the one for every shape, or (bf16) one
        compiled for this shape on first use, the last few kept."""
        if self.compiled is not None:
            return self.compiled
        if shape not in self.programs:
            self.programs[shape] = self.core.compile_model(self._reshaped(shape), "CPU", self.config)
            while len(self.programs) > MAX_STATIC_PROGRAMS:
                self.programs.popitem(last=False)
        self.programs.move_to_end(shape)
        return self.programs[shape]

    def slice_size(self, image_shape: tuple[int, ...]) -> int | None:
        """The images a bf16 program takes at once for images of ``image_shape`` (C, H, W): as many
        as keep its largest feature map within :data:`SLICE_ELEMENTS`; None (all) for fp32 and int8."""
        if not self.static_shapes:
            return None
        if image_shape not in self.slices:
            model = self._reshaped((1, *image_shape))
            largest = max(
                (
                    int(np.prod(output.get_shape()))
                    for node in model.get_ops()
                    if node.get_type_name() != "Constant"
                    for output in node.outputs()
                    if output.get_partial_shape().is_static
                ),
                default=1,
            )
            self.slices[image_shape] = max(1, SLICE_ELEMENTS // largest)
        return self.slices[image_shape]

    def _reshaped(self, shape: tuple[int, ...]) -> Any:
        """A copy of the model with its input fixed to ``shape``."""
        model = self.model.clone()
        model.reshape(list(shape))
        return model

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        fixed_batch = check_batch(self.path, self.input_shape, batch)
        array = batch.detach().to("cpu", torch.float32).contiguous().numpy()
        step = fixed_batch or self.slice_size(array.shape[1:])
        return run_in_slices(lambda part: np.array(self.program(part.shape)(part)[0]), array, step)


def is_quantized(model: Any) -> bool:
    """Whether an OpenVINO model holds int8 quantization (NNCF's FakeQuantize nodes)."""
    return any(node.get_type_name() == "FakeQuantize" for node in model.get_ops())
