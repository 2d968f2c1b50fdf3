"""A detector's network in ONNX, up to its raw box and class outputs, with the decoding and NMS
beside it (:class:`OnnxDetector`), so that an exported detector gives the PyTorch model's detections."""

from __future__ import annotations

import copy
import json
import os
import warnings
from pathlib import Path

import torch

from ..checkpoint import _stage_as_list
from ..data.detection import resize_for_model
from ..models import SSDBoxCoding, SSDLite
from .onnx import INPUT_NAME, ONNX_OPSET, OnnxClassifier
from .runtime import import_runtime

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
    onnx = import_runtime("onnx", "exporting to ONNX")

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
    settings = {
        "num_classes": model.num_classes,
        "image_size": model.image_size,
        "score_thresh": model.score_thresh,
        "nms_thresh": model.nms_thresh,
        "topk_candidates": model.topk_candidates,
        "detections_per_img": model.detections_per_img,
        "arch": [_stage_as_list(stage) for stage in model.backbone.arch],
        "class_names": list(model.class_names),
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
