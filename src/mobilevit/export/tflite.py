"""LiteRT (TensorFlow Lite): a ``.tflite`` file converted by litert-torch, float32 or int8
(litert-torch's PT2E quantizer), and the LiteRT interpreter (its XNNPACK delegate) as a backend.

An int8 file takes float32 images (its first, full-resolution layers stay float32) and gives int8
logits, with the scale and zero point the file records: :class:`TFLiteRunner` dequantizes
them, so it takes and gives float32 like every other runner.
"""

from __future__ import annotations

import contextlib
import copy
import os
import sys
from pathlib import Path

import numpy as np
import torch

from ..errors import UsageError
from .pt2e import FULL_RESOLUTION_MODULES, FloatModules, calibrated
from .runtime import check_batch, import_runtime, run_in_slices


def export_tflite(
    model: torch.nn.Module, example: torch.Tensor, path: Path, calibration: torch.Tensor | None = None
) -> None:
    """Write ``model`` (already fused) as a LiteRT file for ``example``'s shape; int8 (per-channel
    symmetric weights, static activations, bias-corrected; float32 stem and first stage, int8 output)
    when ``calibration`` images are given."""
    litert_torch = import_runtime("litert_torch", "exporting to LiteRT")
    # litert-torch misconverted channels-last weights (DeepLabv3's head: logits off by 1.8)
    model = copy.deepcopy(model).to(memory_format=torch.contiguous_format)
    options = {}
    with torch.no_grad():
        if calibration is not None:
            model, options["quant_config"] = _quantize(model, calibration)
        with contextlib.redirect_stdout(sys.stderr):  # litert-torch's progress lines: ours go to stdout
            converted = litert_torch.convert(model, (example,), **options)
    converted.export(str(path))


def _quantize(model: torch.nn.Module, calibration: torch.Tensor):
    """The int8 model and the converter's configuration for it."""
    litert_quantizer = import_runtime("litert_torch.quantize.pt2e_quantizer", "int8 quantization for LiteRT")
    quant_config = import_runtime("litert_torch.quantize.quant_config", "int8 quantization for LiteRT")
    quantizer = litert_quantizer.PT2EQuantizer().set_global(
        litert_quantizer.get_symmetric_quantization_config(is_per_channel=True)
    )
    mixed = FloatModules(quantizer, FULL_RESOLUTION_MODULES)
    quantized = calibrated(model, mixed, calibration, "int8 quantization for LiteRT", fold_quantize=False)
    quantized.training = False  # its graph is in eval form already; an exported module refuses .eval()
    return quantized, quant_config.QuantConfig(pt2e_quantizer=quantizer)


class TFLiteRunner:
    """Logits of a LiteRT file computed by the LiteRT interpreter on the CPU, as
    :class:`~mobilevit.export.OnnxRunner` computes them with ONNX Runtime.

    The file takes batches of the size it was exported for; other multiples of it run in slices.
    An int8 file's int8 logits are dequantized here (``quantized`` is then True).
    """

    def __init__(self, path: str | os.PathLike, threads: int | None = None) -> None:
        interpreter_module = import_runtime("ai_edge_litert.interpreter", "running a LiteRT model")
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"LiteRT model not found: {path}")
        try:
            self.interpreter = interpreter_module.Interpreter(model_path=str(path), num_threads=threads)
            self.interpreter.allocate_tensors()
        except (RuntimeError, ValueError) as error:
            raise UsageError(f"cannot load LiteRT model {path}: {error}") from None
        self.path = path
        self.input, self.output = self.interpreter.get_input_details()[0], self.interpreter.get_output_details()[0]
        if self.input["dtype"] != np.float32:
            raise UsageError(f"{path} takes {np.dtype(self.input['dtype'])} images; mobilevit's files take float32")
        self.input_shape = tuple(int(size) for size in self.input["shape"])
        self.quantized = np.issubdtype(self.output["dtype"], np.integer)

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        fixed_batch = check_batch(self.path, self.input_shape, batch)
        array = batch.detach().to("cpu", torch.float32).contiguous().numpy()
        return run_in_slices(self._run, array, fixed_batch)

    def _run(self, images: np.ndarray) -> np.ndarray:
        self.interpreter.set_tensor(self.input["index"], images)
        self.interpreter.invoke()
        logits = self.interpreter.get_tensor(self.output["index"])
        if self.quantized:
            scale, zero_point = self.output["quantization"]
            logits = (logits.astype(np.float32) - zero_point) * np.float32(scale)
        return logits.copy()
