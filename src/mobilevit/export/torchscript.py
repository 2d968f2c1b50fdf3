"""TorchScript export (a trace, which serves any batch and image size) and torch.jit as a backend."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch

from ..errors import UsageError


def export_torchscript(model: torch.nn.Module, example: torch.Tensor, path: Path) -> None:
    """Write ``model`` (already fused) as a TorchScript trace."""
    with torch.no_grad(), warnings.catch_warnings():
        # torch.jit is deprecated in favour of torch.export, but it is what this format is
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.\w+` is deprecated", category=FutureWarning)
        # GroupNorm (v2) checks that it has more than one value per channel: a check, not a branch of the trace
        warnings.filterwarnings(
            "ignore",
            message="Converting a tensor to a Python boolean",
            category=torch.jit.TracerWarning,
            module=r"torch\.nn\.functional",
        )
        traced = torch.jit.trace(model, example)
        torch.jit.save(traced, str(path))


class TorchScriptRunner:
    """Logits of an exported TorchScript classifier or segmenter, computed by torch.jit on the CPU.

    ``TorchScriptRunner(path)(batch)`` stands in for ``model(batch)``, as :class:`OnnxRunner` does.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"TorchScript model not found: {path}")
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*torch.jit.load. is deprecated", category=FutureWarning)
                self.module = torch.jit.load(str(path), map_location="cpu").eval()
        except RuntimeError as error:
            reason = str(error).strip().splitlines()[0]
            raise UsageError(
                f"cannot load TorchScript model {path} (is it a `mobilevit export --format "
                f"torchscript` file?): {reason}"
            ) from None
        self.path = path

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.module(batch.detach().to("cpu", torch.float32)).float()
