"""Export a classifier to ONNX or TorchScript, and run an exported ONNX file with ONNX Runtime;
a detector's network goes to ONNX with its decoding and NMS beside it (:class:`OnnxDetector`).

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
import json
import os
import warnings
import zipfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from .apis import init_model
from .checkpoint import _stage_as_list
from .data.detection import resize_for_model
from .models import DeepLabV3, ImageClassifier, MobileViTBlock, SSDBoxCoding, SSDLite

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
    if isinstance(model, SSDLite):
        if export_format != "onnx" or dynamic or shape is not None:
            raise ValueError("a detector exports to ONNX at its own input size only (any batch size); "
                             "drop --format, --dynamic and --shape")
        return export_detector(model, output or Path(name_or_config or checkpoint).stem + SUFFIXES["onnx"])
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


DETECTION_OUTPUTS = ("bbox_regression", "cls_logits")
DETECTION_METADATA_KEY = "mobilevit_detection"


class _RawDetections(torch.nn.Module):
    """The detector's network up to its raw outputs, as a tuple (ONNX outputs are positional)."""

    def __init__(self, model: SSDLite) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outputs = self.model(batch)
        return outputs["bbox_regression"], outputs["cls_logits"]


def export_detector(model: SSDLite, path: str | os.PathLike) -> Path:
    """Write the fused network of ``model`` to ONNX: a float (B, 3, S, S) batch named ``image``
    (resized to the model's ``image_size``, BGR in [0, 1]) in, ``bbox_regression`` (B, anchors, 4)
    and ``cls_logits`` (B, anchors, num_classes) out, any batch size. The decoding and NMS stay
    outside (:class:`OnnxDetector`), their settings and the class names in the file's metadata."""
    if importlib.util.find_spec("onnx") is None:
        raise ImportError("exporting to ONNX needs the onnx package: pip install 'mobilevit[export]'")
    import onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fused = copy.deepcopy(model).cpu().float().fuse()
    example = torch.rand(1, 3, model.image_size, model.image_size)
    axes = {name: {0: "batch"} for name in (INPUT_NAME, *DETECTION_OUTPUTS)}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message="The feature will be removed", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)  # the fixed input size, on purpose
        torch.onnx.export(
            _RawDetections(fused).eval(), (example,), str(path), dynamo=False, opset_version=ONNX_OPSET,
            input_names=[INPUT_NAME], output_names=list(DETECTION_OUTPUTS), dynamic_axes=axes)
    graph = onnx.load(str(path))
    settings = {
        "num_classes": model.num_classes, "image_size": model.image_size, "score_thresh": model.score_thresh,
        "nms_thresh": model.nms_thresh, "topk_candidates": model.topk_candidates,
        "detections_per_img": model.detections_per_img,
        "arch": [_stage_as_list(stage) for stage in model.backbone.arch],
        "class_names": list(getattr(model, "class_names", ()) or ()),
    }
    entry = graph.metadata_props.add()
    entry.key, entry.value = DETECTION_METADATA_KEY, json.dumps(settings)
    onnx.save(graph, str(path))
    return path


class OnnxDetector:
    """Detections of an exported ONNX detector (:func:`export_detector`): ONNX Runtime computes the
    raw outputs on the CPU, and the decoding and NMS of the model (:class:`SSDBoxCoding`, with the
    settings the file carries) turn them into what the PyTorch model gives.

    ``OnnxDetector(path)(images)`` takes a list of (3, H, W) BGR tensors in [0, 1] and returns per
    image ``{'boxes', 'scores', 'labels'}`` in its own pixels; ``class_names`` name the labels.
    """

    def __init__(self, path: str | os.PathLike, threads: int | None = None) -> None:
        self.network = OnnxClassifier(path, threads)
        metadata = self.network.session.get_modelmeta().custom_metadata_map
        if DETECTION_METADATA_KEY not in metadata:
            raise ValueError(f"{path} is not a detector exported by mobilevit (no {DETECTION_METADATA_KEY} metadata)")
        settings = json.loads(metadata[DETECTION_METADATA_KEY])
        self.class_names = tuple(settings.pop("class_names"))
        self.image_size = settings["image_size"]
        self.coding = SSDBoxCoding(**settings)

    def raw_outputs(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        """The network's outputs on a (B, 3, S, S) batch already resized."""
        array = batch.detach().to("cpu", torch.float32).contiguous().numpy()
        boxes, logits = self.network.session.run(list(DETECTION_OUTPUTS), {self.network.input_name: array})
        return {"bbox_regression": torch.from_numpy(boxes), "cls_logits": torch.from_numpy(logits)}

    def __call__(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        batch = torch.stack([resize_for_model(image.float(), self.image_size) for image in images])
        sizes = [tuple(image.shape[-2:]) for image in images]
        return self.coding.decode(self.raw_outputs(batch), sizes)
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
