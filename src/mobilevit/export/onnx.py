"""ONNX export through torch's TorchScript-based exporter (``dynamo=False``, which needs no more
than the ``onnx`` package), and ONNX Runtime as a backend."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch

from ..errors import UsageError
from ..tasks import task_of
from .runtime import check_batch, import_runtime, run_in_slices

ONNX_OPSET = 17
INPUT_NAME = "image"
OUTPUT_NAME = "logits"


def export_onnx(model: torch.nn.Module, example: torch.Tensor, path: Path, dynamic: bool) -> None:
    """Write ``model`` (already fused) as ONNX: any batch size, and any height and width if ``dynamic``."""
    import_runtime("onnx", "exporting to ONNX")
    image_axes = {0: "batch", 2: "height", 3: "width"} if dynamic else {0: "batch"}
    # A segmenter's logits take the input's height and width; a network of no task (a detector's
    # raw outputs, another library's model) gives (B, ...) outputs.
    spatial = hasattr(model, "task") and task_of(model).spatial_output
    axes = {INPUT_NAME: image_axes, OUTPUT_NAME: image_axes if spatial else {0: "batch"}}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message="The feature will be removed", category=DeprecationWarning)
        # A fixed-size export fixes each block's resize-or-not branch for its size, on purpose.
        warnings.filterwarnings(
            "ignore", message="Converting a tensor to a Python boolean", category=torch.jit.TracerWarning
        )
        torch.onnx.export(
            model,
            (example,),
            str(path),
            dynamo=False,
            opset_version=ONNX_OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes=axes,
        )


class OnnxRunner:
    """The outputs of an exported ONNX network (a classifier's or segmenter's logits, a detector's
    raw outputs), computed by ONNX Runtime on the CPU.

    ``OnnxRunner(path)(batch)`` stands in for ``model(batch)``: a float (B, 3, H, W) tensor in,
    the network's first output out. A file made elsewhere for a fixed batch size runs the batch in
    slices of that size (``export_model``'s files take any batch size).
    """

    def __init__(self, path: str | os.PathLike, threads: int | None = None) -> None:
        onnxruntime = import_runtime("onnxruntime", "running an ONNX model")
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"ONNX model not found: {path}")
        options = onnxruntime.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types for unreadable files
            raise UsageError(f"cannot load ONNX model {path}: {error}") from None
        self.path = path
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        self.input_shape = tuple(model_input.shape)  # ints where static, names where dynamic

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        fixed_batch = check_batch(self.path, self.input_shape, batch)
        array = batch.detach().to("cpu", torch.float32).contiguous().numpy()
        return run_in_slices(lambda part: self.session.run(None, {self.input_name: part})[0], array, fixed_batch)
