"""The public Python face: build a model with its weights, classify images.

    model = init_model("mobilevit-small_3rdparty_in1k", "mobilevit-small_...-cb4f741c.pth")
    inference_model(model, "demo.jpg")  # {'pred_label': 65, 'pred_class': 'sea snake', ...}

A model built here carries the ``preprocessing`` of its zoo record or config, so images are
prepared exactly as in the test pipeline of its weights.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Callable, Sequence, Union

import numpy as np
import torch
from PIL import Image, ImageOps

from .checkpoint import load_checkpoint
from .config import Config, load_config
from .tasks import build_model
from .data.image import read_image, to_rgb_array
from .data.transforms import EvalTransform
from .imagenet_classes import IMAGENET_CLASSES
from .data.detection import to_model_input
from .models import ImageClassifier, SSDLite
from .zoo import MODELS, Preprocessing, get_model, get_record

ImageInput = Union[str, os.PathLike, np.ndarray, Image.Image]
# Turns a preprocessed (B, 3, H, W) batch into (B, num_classes) logits; a backend other than
# PyTorch (an exported model) plugs in here.
LogitsFunction = Callable[[torch.Tensor], torch.Tensor]


def init_model(
    config_or_name: str | os.PathLike | Config,
    checkpoint: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
) -> ImageClassifier:
    """Build a classifier from a zoo name or a config file, load a checkpoint (a path, a
    directory or an http(s) URL, in any known layout) and return it in eval mode on ``device``.

    The model's ``preprocessing`` is its zoo record's or its config's ``data.preprocessing``; class
    names saved in the checkpoint (our format, our training checkpoints) become its ``class_names``.
    """
    if isinstance(config_or_name, Config):
        model, preprocessing = build_model(config_or_name), config_or_name.data.preprocessing
    elif isinstance(config_or_name, str) and config_or_name in MODELS:
        model, preprocessing = get_model(config_or_name), get_record(config_or_name).preprocessing
    elif Path(config_or_name).is_file():
        config = load_config(config_or_name)
        model, preprocessing = build_model(config), config.data.preprocessing
    else:
        raise ValueError(_not_a_model(str(config_or_name)))
    model.preprocessing = preprocessing
    if checkpoint is not None:
        class_names = load_checkpoint(model, checkpoint).metadata.get("class_names")
        if class_names:
            model.class_names = tuple(class_names)
    return model.to(device).eval()


def _not_a_model(text: str) -> str:
    if text.endswith(".py"):
        return f"config file not found: {text}"
    close = difflib.get_close_matches(text, MODELS, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"{text!r} is neither a zoo model nor a config file.{hint} Zoo models: {', '.join(MODELS)}"


def inference_model(
    model: ImageClassifier, images: ImageInput | Sequence[ImageInput], channel_order: str = "BGR"
) -> dict[str, Any] | list[dict[str, Any]]:
    """Classify one image or a list of them (one batched forward pass).

    An image is a file path, a PIL image, or an (H, W, 3) / (H, W) uint8 array whose channels are
    in ``channel_order`` (BGR, as OpenCV reads, by default). Each result holds ``pred_label``,
    ``pred_score``, ``pred_class`` and ``pred_scores`` (the softmax over all classes, numpy). A
    detection model gives boxes instead (see :func:`detect_objects`).
    """
    if isinstance(model, SSDLite):
        return detect_objects(model, images, channel_order)
    single = not isinstance(images, (list, tuple))
    batch = prepare_batch([images] if single else list(images), preprocessing_of(model), channel_order)
    results = describe_predictions(torch_logits(model)(batch), class_names_of(model))
    return results[0] if single else results


def torch_logits(model: torch.nn.Module) -> LogitsFunction:
    """Logits of a PyTorch model, computed in eval mode on the model's device."""
    def logits(batch: torch.Tensor) -> torch.Tensor:
        was_training = model.training
        model.eval()
        try:
            with torch.inference_mode():
                return model(batch.to(next(model.parameters()).device)).float().cpu()
        finally:
            model.train(was_training)
    return logits


def preprocessing_of(model: torch.nn.Module) -> Preprocessing:
    """The model's preprocessing, or the official weights' one for a model built without it."""
    return getattr(model, "preprocessing", None) or Preprocessing()


def class_names_of(model: torch.nn.Module) -> Sequence[str] | None:
    """The model's ``class_names``; the ImageNet-1k names for a 1000-class model without them."""
    names = getattr(model, "class_names", None)
    if names:
        return names
    return IMAGENET_CLASSES if getattr(model, "num_classes", None) == len(IMAGENET_CLASSES) else None


def prepare_batch(
    images: Sequence[ImageInput], preprocessing: Preprocessing, channel_order: str = "BGR"
) -> torch.Tensor:
    """Read and transform images into one (B, 3, crop, crop) batch as the test pipeline does."""
    if not images:
        raise ValueError("no images given: expected a path, an array, a PIL image or a list of them")
    transform = EvalTransform(preprocessing)
    return torch.stack([transform(to_rgb(image, channel_order)) for image in images])


def to_rgb(image: ImageInput, channel_order: str = "BGR") -> np.ndarray:
    """An (H, W, 3) uint8 RGB array from a path, a PIL image or an array in ``channel_order``."""
    if channel_order not in ("BGR", "RGB"):
        raise ValueError(f"channel_order must be 'BGR' or 'RGB', got {channel_order!r}")
    if isinstance(image, (str, os.PathLike)):
        return read_image(image)
    if isinstance(image, Image.Image):
        return to_rgb_array(ImageOps.exif_transpose(image))
    if isinstance(image, np.ndarray):
        return _array_to_rgb(image, channel_order)
    raise TypeError(
        f"cannot read an image from a {type(image).__name__}: expected a path, a numpy array or a PIL image")


def _array_to_rgb(array: np.ndarray, channel_order: str) -> np.ndarray:
    if array.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image array (values 0-255), got dtype {array.dtype}")
    if array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 1):
        return np.repeat(array.reshape(array.shape[0], array.shape[1], 1), 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image array, got shape {array.shape}")
    color = array[..., :3]  # a fourth channel is alpha
    return np.ascontiguousarray(color[..., ::-1] if channel_order == "BGR" else color)


def describe_predictions(logits: torch.Tensor, class_names: Sequence[str] | None) -> list[dict[str, Any]]:
    """Per image: ``pred_label``, ``pred_score``, ``pred_class`` and ``pred_scores`` (all classes)."""
    scores = logits.float().softmax(dim=1)
    if class_names is not None and len(class_names) != scores.shape[1]:
        raise ValueError(f"{len(class_names)} class names for a model with {scores.shape[1]} classes")
    results = []
    for row in scores.numpy():
        label = int(row.argmax())
        results.append({
            "pred_label": label,
            "pred_score": float(row[label]),
            "pred_class": class_names[label] if class_names is not None else str(label),
            "pred_scores": row,
        })
    return results


def detect_objects(
    model: SSDLite, images: ImageInput | Sequence[ImageInput], channel_order: str = "BGR"
) -> dict[str, Any] | list[dict[str, Any]]:
    """Detect objects in one image or a list of them (one batched forward pass; the model resizes
    each image to its input size and maps the boxes back).

    Each result holds numpy ``boxes`` (N, 4) as (x1, y1, x2, y2) in the image's own pixels,
    ``scores`` (N,) and ``labels`` (N,), best first, and ``classes``, the labels' names.
    """
    single = not isinstance(images, (list, tuple))
    items = [images] if single else list(images)
    if not items:
        raise ValueError("no images given: expected a path, an array, a PIL image or a list of them")
    device = next(model.parameters()).device
    tensors = [detection_input(image, channel_order).to(device) for image in items]
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            detections = model(tensors)
    finally:
        model.train(was_training)
    results = describe_detections(detections, getattr(model, "class_names", None) or None)
    return results[0] if single else results


def detection_input(image: ImageInput, channel_order: str = "BGR") -> torch.Tensor:
    """An image as detection models take it: a (3, H, W) BGR float tensor in [0, 1], at its own size."""
    return to_model_input(torch.from_numpy(to_rgb(image, channel_order).copy()).permute(2, 0, 1))


def describe_detections(detections: Sequence[dict[str, torch.Tensor]],
                        class_names: Sequence[str] | None) -> list[dict[str, Any]]:
    """Per image: numpy ``boxes``, ``scores`` and ``labels``, and the labels' ``classes`` names."""
    results = []
    for detection in detections:
        labels = detection["labels"].cpu().numpy()
        results.append({
            "boxes": detection["boxes"].float().cpu().numpy(),
            "scores": detection["scores"].float().cpu().numpy(),
            "labels": labels,
            "classes": [class_names[label] if class_names is not None and label < len(class_names) else str(label)
                        for label in labels],
        })
    return results


def draw_detections(
    image: ImageInput, result: dict[str, Any], score_threshold: float = 0.3, channel_order: str = "BGR"
) -> Image.Image:
    """The image with the detections of ``result`` (from :func:`detect_objects`) scoring at least
    ``score_threshold`` drawn as labelled boxes (torchvision's ``draw_bounding_boxes``)."""
    from torchvision.utils import draw_bounding_boxes

    rgb = torch.from_numpy(to_rgb(image, channel_order).copy()).permute(2, 0, 1)
    keep = result["scores"] >= score_threshold
    labels = [f"{name} {score:.2f}" for name, score, kept in zip(result["classes"], result["scores"], keep) if kept]
    width = max(1, round(max(rgb.shape[1:]) / 200))
    drawn = draw_bounding_boxes(rgb, torch.from_numpy(result["boxes"][keep]), labels=labels, colors="red",
                                width=width)
    return Image.fromarray(drawn.permute(1, 2, 0).numpy())
