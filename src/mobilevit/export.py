"""Export a classifier to ONNX or TorchScript, and run an exported ONNX file with ONNX Runtime.

Exports are of the fused model (every BatchNorm folded into its convolution, see
:meth:`~mobilevit.models.ImageClassifier.fuse`), taking a float32 (B, 3, H, W) batch named
``image``, preprocessed as the model's zoo record or config says, and giving (B, num_classes)
logits named ``logits`` (a segmenter's: (B, num_classes, H, W), at the input's size). ONNX goes
through torch's TorchScript-based exporter (``dynamo=False``), which needs no more than the
``onnx`` package.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import warnings
import zipfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from .apis import init_model
from .models import DeepLabV3, ImageClassifier, MobileViTBlock

FORMATS = ("onnx", "torchscript")
SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}
ONNX_OPSET = 17
INPUT_NAME = "image"
OUTPUT_NAME = "logits"


def export_model(
    model: ImageClassifier | DeepLabV3,
    path: str | os.PathLike,
    export_format: str = "onnx",
    height: int = 256,
    width: int = 256,
    dynamic: bool = False,
) -> Path:
    """Write a fused copy of ``model`` to ``path``; the model itself is left unchanged.

    An ONNX file takes (B, 3, height, width) batches of any size B; ``dynamic`` lets height and
    width vary too, at the cost of a resize up and back around each MobileViT block's transformer
    (an identity where the sides divide the patch; it is what makes other sides work). A TorchScript
    file is a trace that serves any batch and image size.
    """
    if export_format not in FORMATS:
        raise ValueError(f"unknown export format {export_format!r}; expected one of {', '.join(FORMATS)}")
    if dynamic and export_format != "onnx":
        raise ValueError("--dynamic applies to ONNX; a TorchScript trace already serves any batch and image size")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fused = copy.deepcopy(model).cpu().float().fuse()
    for module in fused.modules():
        if isinstance(module, MobileViTBlock):
            module.always_resize = serves_any_size(export_format, dynamic)
    example = torch.rand(1, 3, height, width)
    if export_format == "onnx":
        _export_onnx(fused, example, path, dynamic)
    else:
        _export_torchscript(fused, example, path)
    return path


def serves_any_size(export_format: str, dynamic: bool) -> bool:
    """Whether an export takes any image size (else only the height and width it was exported for)."""
    return dynamic or export_format == "torchscript"


def _export_onnx(model: ImageClassifier | DeepLabV3, example: torch.Tensor, path: Path, dynamic: bool) -> None:
    if importlib.util.find_spec("onnx") is None:
        raise ImportError("exporting to ONNX needs the onnx package: pip install 'mobilevit[export]'")
    image_axes = {0: "batch", 2: "height", 3: "width"} if dynamic else {0: "batch"}
    # A segmenter's logits take the input's height and width.
    axes = {INPUT_NAME: image_axes, OUTPUT_NAME: image_axes if isinstance(model, DeepLabV3) else {0: "batch"}}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message="The feature will be removed", category=DeprecationWarning)
        # A fixed-size export fixes each block's resize-or-not branch for its size, on purpose.
        warnings.filterwarnings(
            "ignore", message="Converting a tensor to a Python boolean", category=torch.jit.TracerWarning)
        torch.onnx.export(
            model, (example,), str(path), dynamo=False, opset_version=ONNX_OPSET,
            input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], dynamic_axes=axes)


def _export_torchscript(model: ImageClassifier | DeepLabV3, example: torch.Tensor, path: Path) -> None:
    with torch.no_grad():
        traced = torch.jit.trace(model, example)
    torch.jit.save(traced, str(path))


def export_from_name(
    name_or_config: str | os.PathLike | None,
    checkpoint: str | os.PathLike | None,
    export_format: str = "onnx",
    output: str | os.PathLike | None = None,
    shape: tuple[int, int] | None = None,
    dynamic: bool = False,
    cfg_options: Sequence[str] = (),
) -> Path:
    """Build a model as :func:`~mobilevit.apis.init_model` does (a zoo name, a config file or a
    checkpoint that describes its model), load ``checkpoint`` and export it.

    ``output`` defaults to the model's (or checkpoint's) name with the format's suffix (``.onnx``,
    ``.pt``); ``shape`` to the model's crop size.
    """
    model = init_model(name_or_config, checkpoint, cfg_options=cfg_options)
    if shape is None:
        crop = model.preprocessing.crop_size
        shape = (crop, crop)
    if output is None:
        output = Path(name_or_config or checkpoint).stem + SUFFIXES.get(export_format, "")
    return export_model(model, output, export_format, *shape, dynamic=dynamic)


def exported_format(path: str | os.PathLike) -> str | None:
    """The export format of a file ('onnx', 'torchscript'), from its name or content; None for
    anything else, such as a checkpoint."""
    path = Path(path)
    if path.suffix == SUFFIXES["onnx"]:
        return "onnx"
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:  # a TorchScript archive holds the model's code
            if any(name.endswith("/constants.pkl") or "/code/" in name for name in archive.namelist()):
                return "torchscript"
    return None


class OnnxClassifier:
    """Logits of an exported ONNX classifier, computed by ONNX Runtime on the CPU.

    ``OnnxClassifier(path)(batch)`` stands in for ``model(batch)``: a float (B, 3, H, W) tensor in,
    (B, num_classes) logits out. A file made elsewhere for a fixed batch size runs the batch in
    slices of that size (``export_model``'s files take any batch size).
    """

    def __init__(self, path: str | os.PathLike, threads: int | None = None) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise ImportError("running an ONNX model needs onnxruntime: pip install 'mobilevit[export]'") from None
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"ONNX model not found: {path}")
        options = onnxruntime.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types for unreadable files
            raise ValueError(f"cannot load ONNX model {path}: {error}") from None
        self.path = path
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        self.input_shape = tuple(model_input.shape)  # ints where static, names where dynamic

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        fixed_batch = self.input_shape[0] if isinstance(self.input_shape[0], int) else None
        if batch.ndim != 4 or not all(
                isinstance(expected, str) or expected == size
                for expected, size in zip(self.input_shape[1:], batch.shape[1:])):
            raise ValueError(
                f"{self.path} takes a batch of shape {self.input_shape} (names are free sizes), got {tuple(batch.shape)}")
        if fixed_batch is not None and len(batch) % fixed_batch:
            raise ValueError(f"{self.path} takes batches of {fixed_batch} images; got {len(batch)}")
        array = batch.detach().to("cpu", torch.float32).contiguous().numpy()
        step = fixed_batch or len(array)
        outputs = [self.session.run(None, {self.input_name: array[start:start + step]})[0]
                   for start in range(0, len(array), step)]
        return torch.from_numpy(np.concatenate(outputs))


class TorchScriptClassifier:
    """Logits of an exported TorchScript classifier, computed by torch.jit on the CPU.

    ``TorchScriptClassifier(path)(batch)`` stands in for ``model(batch)``, as :class:`OnnxClassifier` does.
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
            raise ValueError(f"cannot load TorchScript model {path} (is it a `mobilevit export --format "
                             f"torchscript` file?): {reason}") from None
        self.path = path

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.module(batch.detach().to("cpu", torch.float32)).float()


# The runtimes that `mobilevit predict --backend NAME` runs exported files with: the export format
# each takes, and what turns such a file into a logits function (a (B, 3, H, W) batch to logits).
RUNTIMES: dict[str, tuple[str, Callable[[Path], Callable[[torch.Tensor], torch.Tensor]]]] = {
    "onnxruntime": ("onnx", OnnxClassifier),
    "torchscript": ("torchscript", TorchScriptClassifier),
}
