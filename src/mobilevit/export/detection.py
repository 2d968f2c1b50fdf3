"""A detector's network exported up to its raw box and class outputs, with the decoding and NMS
beside it, so that an exported detector gives the PyTorch model's detections.

ONNX files carry both outputs and, in their metadata, the decoding's settings and the class names
(:class:`OnnxDetector`). OpenVINO, LiteRT and ExecuTorch files give one tensor, the box regression
and the class logits side by side, with the settings in a JSON file beside them (``NAME.json``
next to ``NAME.tflite``; :class:`ExportedDetector`). The settings record the input's channel
order (``channel_order``: RGB for MobileViT v2, BGR for v1; a file without it takes BGR) and the
resize of the images to the input size (``interpolation``: bicubic for v2's published weights,
bilinear for v1's; a file without it resizes bilinearly)."""

from __future__ import annotations

import copy
import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ..checkpoint import _stage_as_list
from ..data.detection import resize_for_model
from ..data.transforms import check_channel_order, check_interpolation
from ..errors import UsageError
from ..tasks import task_of
from ..tasks.base import model_preprocessing
from .executorch import ExecuTorchRunner, export_executorch
from .onnx import INPUT_NAME, ONNX_OPSET, OnnxRunner
from .openvino import OpenVinoRunner, export_openvino
from .runtime import import_runtime
from .tflite import TFLiteRunner, export_tflite

if TYPE_CHECKING:  # models.ssdlite imports torchvision (2 s): imported where a detector is decoded
    from ..models import SSDLite

DETECTION_OUTPUTS = ("bbox_regression", "cls_logits")
DETECTION_METADATA_KEY = "mobilevit_detection"
# The formats a detector exports to, and the runners of their files' one output (ONNX: two outputs)
DETECTOR_RUNNERS = {"openvino": OpenVinoRunner, "tflite": TFLiteRunner, "executorch": ExecuTorchRunner}


class _RawDetections(torch.nn.Module):
    """The detector's network up to its raw outputs, as a tuple (ONNX outputs are positional)."""

    def __init__(self, model: SSDLite) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outputs = self.model(batch)
        return outputs["bbox_regression"], outputs["cls_logits"]


class _SideBySide(torch.nn.Module):
    """The detector's raw outputs as one (B, anchors, 4 + num_classes) tensor, for runtimes whose
    runners take one output."""

    def __init__(self, model: SSDLite) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        outputs = self.model(batch)
        return torch.cat([outputs["bbox_regression"], outputs["cls_logits"]], dim=-1)


def export_detector(model: SSDLite, path: str | os.PathLike, export_format: str = "onnx", batch_size: int = 1) -> Path:
    """Write the fused network of ``model``: a float (B, 3, S, S) batch named ``image`` (resized
    to the model's ``image_size``, in [0, 1], in the model's channel order) in; out, in ONNX, ``bbox_regression`` (B,
    anchors, 4) and ``cls_logits`` (B, anchors, num_classes) for any batch size, the decoding's
    settings and class names in the file's metadata (:class:`OnnxDetector`); in OpenVINO, LiteRT
    and ExecuTorch, the two side by side in one tensor, the settings in ``path`` + ``.json``
    (:class:`ExportedDetector`; LiteRT and ExecuTorch files take batches of ``batch_size``)."""
    if export_format != "onnx" and export_format not in DETECTOR_RUNNERS:
        raise UsageError(f"a detector exports to onnx, {', '.join(DETECTOR_RUNNERS)}; not {export_format}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fused = copy.deepcopy(model).cpu().float().fuse()
    if export_format == "onnx":
        _export_onnx(fused, path, _settings(model))
        return path
    network = _SideBySide(fused).eval()
    example = torch.rand(batch_size, 3, model.image_size, model.image_size)
    with torch.no_grad():
        if export_format == "openvino":
            export_openvino(network, example, path, False, "fp32", None)
        elif export_format == "tflite":
            export_tflite(network, example, path)
        else:
            export_executorch(network, example, path)
    settings_path(path).write_text(json.dumps(_settings(model), indent=2) + "\n")
    return path


def settings_path(path: str | os.PathLike) -> Path:
    """Where the decoding's settings of an exported detector that is not ONNX are written."""
    return Path(f"{path}.json")


def _settings(model: SSDLite) -> dict:
    """What the decoding beside an exported network needs, the class names, the input's channel
    order and how images are resized to it."""
    preprocessing = model_preprocessing(model, task_of(model))
    return {
        "num_classes": model.num_classes,
        **model.decoding.as_dict(),  # as our checkpoint files record them
        "arch": [_stage_as_list(stage) for stage in model.backbone.arch],
        "class_names": list(model.class_names),
        "channel_order": preprocessing.channel_order,
        "interpolation": preprocessing.interpolation,
    }


def _export_onnx(fused: SSDLite, path: Path, settings: dict) -> None:
    onnx = import_runtime("onnx", "exporting to ONNX")
    example = torch.rand(1, 3, fused.image_size, fused.image_size)
    axes = {name: {0: "batch"} for name in (INPUT_NAME, *DETECTION_OUTPUTS)}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message="The feature will be removed", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)  # the fixed input size, on purpose
        torch.onnx.export(
            _RawDetections(fused).eval(),
            (example,),
            str(path),
            dynamo=False,
            opset_version=ONNX_OPSET,
            input_names=[INPUT_NAME],
            output_names=list(DETECTION_OUTPUTS),
            dynamic_axes=axes,
        )
    graph = onnx.load(str(path))
    entry = graph.metadata_props.add()
    entry.key, entry.value = DETECTION_METADATA_KEY, json.dumps(settings)
    onnx.save(graph, str(path))


class _Decoded:
    """Detections from an exported network's raw outputs, decoded by the model's decoding and NMS
    (:class:`SSDBoxCoding`) with the settings the export carries: ``detector(images)`` takes a list
    of (3, H, W) tensors in [0, 1] in ``channel_order`` (the file's; BGR where it records none),
    resizes them with ``interpolation`` (the file's; bilinear where it records none) and returns per
    image ``{'boxes', 'scores', 'labels'}`` in its own pixels; ``class_names`` name the labels."""

    output_kind = "detections"  # what predict gets from it (a logits runner gives "logits")

    def __init__(self, settings: str, where: str) -> None:
        """``settings``: the JSON text an export wrote, read from ``where`` (named in every error)."""
        try:
            settings = json.loads(settings)
            if not isinstance(settings, dict):
                raise UsageError(f"a JSON object of the decoding settings, got a {type(settings).__name__}")
            names, num_classes, arch = settings.pop("class_names"), settings.pop("num_classes"), settings.pop("arch")
            # exports from before these were recorded fed BGR and resized bilinearly
            channel_order = check_channel_order(settings.pop("channel_order", "BGR"))
            interpolation = check_interpolation(settings.pop("interpolation", "bilinear"))
            if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
                raise UsageError(f"class_names must be a list of strings, got {names!r:.80}")
            from ..models import DecodingSettings, SSDBoxCoding

            self.coding = SSDBoxCoding(num_classes, DecodingSettings(**settings), arch)
        except (ValueError, KeyError, TypeError) as error:
            raise UsageError(f"{where} holds no detector settings mobilevit export writes: {error}") from None
        self.class_names, self.image_size, self.where = tuple(names), self.coding.decoding.image_size, where
        self.channel_order: str = channel_order
        self.interpolation: str = interpolation
        if len(self.class_names) != self.coding.num_classes:
            raise UsageError(f"{where}: {len(self.class_names)} class_names for num_classes {self.coding.num_classes}")

    def check_classes(self, num_classes: int) -> None:
        """Refuse a model (its class names, its config) of another class count than the file's."""
        if num_classes != self.coding.num_classes:
            raise UsageError(
                f"{self.where} decodes {self.coding.num_classes} classes (the background counted), and the model "
                f"named for its class names has {num_classes}: pass the model the file was exported from"
            )

    def raw_outputs(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        """The network's outputs on a (B, 3, S, S) batch already resized."""
        raise NotImplementedError

    def __call__(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        batch = torch.stack([resize_for_model(image.float(), self.image_size, self.interpolation) for image in images])
        sizes = [tuple(image.shape[-2:]) for image in images]
        return self.coding.decode(self.checked_outputs(batch), sizes)

    def checked_outputs(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        """:meth:`raw_outputs`, refused where they do not fit the settings (a file of another model)."""
        outputs = self.raw_outputs(batch)
        try:
            self.coding.check(outputs)
        except ValueError as error:
            raise UsageError(f"{self.where}: {error}") from None
        return outputs


class OnnxDetector(_Decoded):
    """An exported ONNX detector (:func:`export_detector`), its network run by ONNX Runtime on the CPU."""

    def __init__(self, path: str | os.PathLike, threads: int | None = None) -> None:
        self.network = OnnxRunner(path, threads)
        metadata = self.network.session.get_modelmeta().custom_metadata_map
        if DETECTION_METADATA_KEY not in metadata:
            raise UsageError(f"{path} is not a detector exported by mobilevit (no {DETECTION_METADATA_KEY} metadata)")
        super().__init__(metadata[DETECTION_METADATA_KEY], f"the {DETECTION_METADATA_KEY} metadata of {path}")

    def raw_outputs(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        array = batch.detach().to("cpu", torch.float32).contiguous().numpy()
        boxes, logits = self.network.session.run(list(DETECTION_OUTPUTS), {self.network.input_name: array})
        return {"bbox_regression": torch.from_numpy(boxes), "cls_logits": torch.from_numpy(logits)}


class ExportedDetector(_Decoded):
    """An OpenVINO, LiteRT or ExecuTorch detector (:func:`export_detector`), its network run by
    ``export_format``'s runtime, its settings read from the JSON file beside it."""

    def __init__(self, path: str | os.PathLike, export_format: str) -> None:
        settings = settings_path(path)
        if not settings.is_file():
            raise UsageError(f"{path} is not a detector exported by mobilevit: {settings} is missing")
        self.network = DETECTOR_RUNNERS[export_format](Path(path))
        try:
            text = settings.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(f"cannot read {settings}, the settings of {path}: {error}") from None
        super().__init__(text, str(settings))

    def raw_outputs(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        side_by_side = self.network(batch)
        return {"bbox_regression": side_by_side[..., :4], "cls_logits": side_by_side[..., 4:]}
