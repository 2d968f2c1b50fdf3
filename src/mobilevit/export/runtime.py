"""What the exported-model runners share: importing an optional runtime, and checking a batch
against a file's input shape."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from types import ModuleType

import numpy as np
import torch

from ..errors import MissingPackageError, UsageError

# Where each optional runtime comes from: the extra of pyproject.toml that installs it.
EXTRAS = {
    "onnx": "export",
    "onnxruntime": "export",
    "openvino": "openvino",
    "nncf": "openvino",
    "torchao": "pt2e",
    "coremltools": "coreml",
    "litert_torch": "tflite",
    "ai_edge_litert": "tflite",
    "executorch": "executorch",
}


def import_runtime(module: str, purpose: str) -> ModuleType:
    """Import an optional runtime, or raise an ImportError naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0]
        raise MissingPackageError(f"{purpose} needs {package}: pip install 'mobilevit[{EXTRAS[package]}]'") from None


def check_batch(path: str | os.PathLike, input_shape: Sequence[int | str], batch: torch.Tensor) -> int | None:
    """Refuse a batch that does not fit an exported file's input; return its fixed batch size, if any.

    ``input_shape`` holds ints where the file fixes a size and names where it is free.
    """
    if batch.ndim != 4 or not all(
        isinstance(expected, str) or expected == size for expected, size in zip(input_shape[1:], batch.shape[1:])
    ):
        hint = ""
        if batch.ndim == 4 and batch.shape[1] == input_shape[1]:  # another image size
            hint = (
                ": images kept at their own sizes (a v2 segmenter's preprocessing.size_multiple) need a file "
                "exported with --dynamic"
            )
        raise UsageError(
            f"{path} takes a batch of shape {tuple(input_shape)} (names are free sizes), got {tuple(batch.shape)}{hint}"
        )
    fixed_batch = input_shape[0] if isinstance(input_shape[0], int) else None
    if fixed_batch is not None and len(batch) % fixed_batch:
        raise UsageError(f"{path} takes batches of {fixed_batch} images; got {len(batch)}")
    return fixed_batch


def run_in_slices(run: Callable[[np.ndarray], np.ndarray], array: np.ndarray, slice_size: int | None) -> torch.Tensor:
    """Run a numpy batch through ``run`` in slices of ``slice_size`` images (the file's fixed batch
    size, or a runner's slice), all at once if None."""
    step = slice_size or len(array)
    return torch.from_numpy(np.concatenate([run(array[start : start + step]) for start in range(0, len(array), step)]))
