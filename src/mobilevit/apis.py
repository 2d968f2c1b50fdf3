"""The public Python face: build a model with its weights, classify images.

    model = init_model("mobilevit-small_3rdparty_in1k", "mobilevit-small_...-cb4f741c.pth")
    inference_model(model, "demo.jpg")  # {'pred_label': 65, 'pred_class': 'sea snake', ...}

A model built here carries the ``preprocessing`` of its zoo record or config, so images are
prepared exactly as in the test pipeline of its weights.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps

from .checkpoint import METADATA_KEY, Checkpoint, load_checkpoint, read_checkpoint
from .config import CONFIG_SUFFIXES, Config, config_from_dict, from_dict, load_config, to_dict
from .convert import infer_arch, num_classes_of, task_of
from .data.detection import to_model_input
from .data.image import read_image, to_rgb_array
from .data.segmentation import voc_palette
from .data.transforms import EvalTransform, Preprocessing
from .download import is_url
from .imagenet import IMAGENET_CLASSES
from .models import DeepLabV3, ImageClassifier, SSDLite, build_classifier, build_segmenter
from .tasks import build_model
from .zoo import DETECTION_PREPROCESSING, MODELS, SEGMENTATION_PREPROCESSING, get_model, get_record, suggestion

ImageInput = str | os.PathLike | np.ndarray | Image.Image
# Turns a preprocessed (B, 3, H, W) batch into (B, num_classes) logits; a backend other than
# PyTorch (an exported model) plugs in here.
LogitsFunction = Callable[[torch.Tensor], torch.Tensor]


def init_model(
    config_or_name: str | os.PathLike | Config | None = None,
    checkpoint: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    cfg_options: Sequence[str] = (),
    dtype: torch.dtype = torch.float32,
    fuse: bool = True,
) -> ImageClassifier | DeepLabV3:
    """Build a classifier or a segmenter, load a checkpoint and return it for inference on ``device``:
    in eval mode and, unless ``fuse=False``, with its BatchNorms folded into the convolutions
    (``model.fuse()``: the same outputs to float rounding, fewer passes over memory; no more
    training or loading of other weights).

    ``config_or_name`` is a zoo name, a config file (``.py``, or a run's ``config.json``), a
    :class:`Config`, or a checkpoint that describes its own model: one of our training checkpoints
    (the resolved config it carries), a ``.safetensors`` file of our format (the arch, classes and
    preprocessing of its header), or a file of another layout whose arch is one of the named ones
    (inferred from its shapes, with the official weights' preprocessing). Such a checkpoint also
    gives the weights, unless ``checkpoint`` names others; ``init_model(checkpoint=path)`` is the
    same as ``init_model(path)``. ``checkpoint`` is a path, a directory or an http(s) URL in any
    known layout. ``cfg_options`` (``key.sub=value``) override entries of the config, as
    ``--cfg-options`` does.

    The model's ``preprocessing`` is its zoo record's, its config's ``data.preprocessing`` or its
    checkpoint's; its ``class_names`` are its zoo record's or config's, or those the checkpoint
    carries; a 1000-class classifier whose checkpoint and config name no classes gets the ImageNet-1k
    names (every published classification checkpoint is an ImageNet-1k one).

    ``dtype=torch.bfloat16`` gives a bfloat16 model for inference (``inference_model`` and
    :func:`torch_logits` cast the images to it): about 1.3-1.4 times the float32 throughput at
    batch 32 on CPUs with AVX512-BF16, top-1 unchanged on the demo (docs/deployment.md).
    """
    if config_or_name is None:
        if checkpoint is None:
            raise ValueError("init_model needs a zoo name, a config file or a checkpoint")
        config_or_name = checkpoint
    if isinstance(config_or_name, Config):
        config = config_from_dict(to_dict(config_or_name), cfg_options) if cfg_options else config_or_name
        model, preprocessing = build_model(config), config.data.preprocessing
    elif isinstance(config_or_name, str) and config_or_name in MODELS:
        if cfg_options:
            raise ValueError(
                f"cfg_options change a config, and {config_or_name} is a zoo model: pass the config "
                f"file {get_record(config_or_name).config} instead"
            )
        model, preprocessing = get_model(config_or_name), get_record(config_or_name).preprocessing
    elif is_config_file(config_or_name):
        if not Path(config_or_name).is_file():
            raise FileNotFoundError(f"config file not found: {config_or_name}")
        config = load_config(config_or_name, cfg_options)
        model, preprocessing = build_model(config), config.data.preprocessing
    elif is_url(config_or_name) or Path(config_or_name).exists():
        described = read_checkpoint(config_or_name)
        model, preprocessing = _model_described_by(described, cfg_options)
        if checkpoint is None or checkpoint == config_or_name:
            checkpoint = described
    else:
        raise ValueError(_not_a_model(str(config_or_name)))
    model.preprocessing = preprocessing
    if checkpoint is not None:
        class_names = load_checkpoint(model, checkpoint).metadata.get("class_names")
        if class_names:
            model.class_names = tuple(class_names)
        elif (
            not model.class_names and isinstance(model, ImageClassifier) and model.num_classes == len(IMAGENET_CLASSES)
        ):
            model.class_names = IMAGENET_CLASSES
    if not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating point type (torch.float32, torch.bfloat16), got {dtype}")
    if fuse:
        model.fuse()
    return model.to(device, dtype).eval()


def is_config_file(source: str | os.PathLike | Config) -> bool:
    """Whether ``source`` names a config file (``.py``, or ``.json`` as runs save theirs) rather than
    a zoo model or a checkpoint."""
    return isinstance(source, (str, os.PathLike)) and not is_url(source) and Path(source).suffix in CONFIG_SUFFIXES


def checkpoint_config(checkpoint: str | os.PathLike | Checkpoint, cfg_options: Sequence[str] = ()) -> Config:
    """The resolved config one of our training checkpoints carries, with ``cfg_options`` applied."""
    checkpoint = checkpoint if isinstance(checkpoint, Checkpoint) else read_checkpoint(checkpoint)
    if "config" not in checkpoint.metadata:
        raise ValueError(
            f"{checkpoint.path} ({checkpoint.layout} layout) carries no config, as only training "
            "checkpoints do: give its config file as well"
        )
    return config_from_dict(checkpoint.metadata["config"], cfg_options, where=f"the config in {checkpoint.path}")


def _model_described_by(
    checkpoint: Checkpoint, cfg_options: Sequence[str]
) -> tuple[ImageClassifier | DeepLabV3, Preprocessing]:
    """The model and preprocessing a checkpoint describes: its config, our format's header, or its shapes."""
    if "config" in checkpoint.metadata:
        config = checkpoint_config(checkpoint, cfg_options)
        return build_model(config), config.data.preprocessing
    if cfg_options:
        raise ValueError(
            f"{checkpoint.path} ({checkpoint.layout} layout) carries no config for cfg_options to "
            "change: give the config file as well"
        )
    # our format's header names the arch; another layout's shapes show it
    arch = checkpoint.metadata.get("arch") or infer_arch(checkpoint.state_dict)
    num_classes = num_classes_of(checkpoint.state_dict)
    if task_of(checkpoint.state_dict) == "segmentation":  # the published weights' output stride unless told
        output_stride = checkpoint.metadata.get("output_stride", 16)
        return build_segmenter(arch, num_classes, output_stride), checkpoint_preprocessing(checkpoint)
    if num_classes is None:
        raise ValueError(
            f"{checkpoint.path} holds a backbone without a classification head (no head.fc): build "
            "the classifier from a zoo name or config and load it with strict_head=False"
        )
    return build_classifier(arch, num_classes=num_classes), checkpoint_preprocessing(checkpoint)


def checkpoint_preprocessing(checkpoint: Checkpoint) -> Preprocessing:
    """How the images of a checkpoint's model are prepared: as its config or our format's header
    says, else as for the official weights (every layout is converted to take their input)."""
    if "config" in checkpoint.metadata:
        return checkpoint_config(checkpoint).data.preprocessing
    if "preprocessing" in checkpoint.metadata:
        where = f"the {METADATA_KEY!r} header of {checkpoint.path}"
        return from_dict(Preprocessing, checkpoint.metadata["preprocessing"], where, prefix="preprocessing.")
    return SEGMENTATION_PREPROCESSING if task_of(checkpoint.state_dict) == "segmentation" else Preprocessing()


def _not_a_model(text: str) -> str:
    return (
        f"unknown model {text!r}: neither a zoo model nor a config file nor a checkpoint.{suggestion(text)} "
        f"Zoo models: {', '.join(MODELS)}"
    )


def inference_model(
    model: ImageClassifier | DeepLabV3 | SSDLite, images: ImageInput | Sequence[ImageInput], channel_order: str = "BGR"
) -> dict[str, Any] | list[dict[str, Any]]:
    """Classify, segment or detect objects in one image or a list of them (one batched forward pass).

    An image is a file path, a PIL image, or an (H, W, 3) / (H, W) uint8 array whose channels are
    in ``channel_order`` (BGR, as OpenCV reads, by default). A classifier's result holds
    ``pred_label``, ``pred_score``, ``pred_class`` and ``pred_scores`` (the softmax over all
    classes, numpy). A segmenter's holds ``pred_mask``, the (H, W) class indices at the image's own
    size, ``pred_scores``, the (num_classes, H, W) softmax, and ``pred_classes``, the names of the
    classes in the mask: the whole image is resized to the model's ``preprocessing.crop_size``
    squared and the logits back to the image's size with nearest neighbour, the protocol of the
    published segmentation figures. A detector's holds boxes instead (see :func:`detect_objects`).
    The model is left as it is (see :func:`torch_logits`): threads may share it.
    """
    if isinstance(model, SSDLite):
        return detect_objects(model, images, channel_order)
    single = not isinstance(images, (list, tuple))
    images = [images] if single else list(images)
    if isinstance(model, DeepLabV3):
        results = segment(model, [to_rgb(image, channel_order) for image in images])
    else:
        batch = prepare_batch(images, preprocessing_of(model), channel_order)
        results = describe_predictions(torch_logits(model)(batch), model.class_names)
    return results[0] if single else results


def segment(
    model: DeepLabV3, images: Sequence[np.ndarray], logits_of: LogitsFunction | None = None
) -> list[dict[str, Any]]:
    """Class masks and scores of RGB (H, W, 3) images at their own sizes (see :func:`inference_model`).

    ``logits_of`` computes the logits of a batch in place of the model (an exported file's runner,
    :data:`mobilevit.export.RUNTIMES`); the model still gives the preprocessing and class names.
    """
    if not images:
        raise ValueError("no images given: expected a path, an array, a PIL image or a list of them")
    transform = EvalTransform(preprocessing_of(model))
    logits_of = torch_logits(model) if logits_of is None else logits_of
    logits = logits_of(torch.stack([transform(image) for image in images]))
    names = model.class_names
    results = []
    for image_logits, image in zip(logits, images):
        full = torch.nn.functional.interpolate(image_logits[None], size=image.shape[:2], mode="nearest")[0]
        scores = full.softmax(dim=0)
        mask = scores.argmax(dim=0).numpy()
        present = np.unique(mask).tolist()
        results.append(
            {
                "pred_mask": mask,
                "pred_scores": scores.numpy(),
                "pred_classes": [names[label] if names else str(label) for label in present],
            }
        )
    return results


def overlay_mask(rgb: np.ndarray, mask: np.ndarray, opacity: float = 0.5) -> Image.Image:
    """The image with its class mask painted over it in VOC's colours (the background, class 0, left clear)."""
    colours = np.array(voc_palette(), np.float64).reshape(256, 3)[mask]
    alpha = np.where(mask[..., None] == 0, 0.0, opacity)
    return Image.fromarray((rgb * (1 - alpha) + colours * alpha).round().astype(np.uint8))


def torch_logits(model: torch.nn.Module) -> LogitsFunction:
    """Logits of a PyTorch model, computed in eval mode on the model's device and in its dtype
    (float32 logits whatever the dtype).

    The model is never changed: one in train mode is run as an eval-mode copy of its current
    weights (flipping the shared module would race with other threads and update BatchNorm
    statistics), so calls from several threads give the results of sequential calls.
    """

    def logits(batch: torch.Tensor) -> torch.Tensor:
        network = copy.deepcopy(model).eval() if model.training else model
        parameter = next(network.parameters())
        with torch.inference_mode():
            return network(batch.to(parameter.device, parameter.dtype)).float().cpu()

    return logits


def preprocessing_of(model: ImageClassifier | DeepLabV3 | SSDLite) -> Preprocessing:
    """The model's preprocessing, or the official weights' one for a model built without it."""
    if model.preprocessing is not None:
        return model.preprocessing
    if isinstance(model, DeepLabV3):
        return SEGMENTATION_PREPROCESSING
    return DETECTION_PREPROCESSING if isinstance(model, SSDLite) else Preprocessing()


def prepare_batch(
    images: Sequence[ImageInput], preprocessing: Preprocessing, channel_order: str = "BGR"
) -> torch.Tensor:
    """Read and transform images into one (B, 3, crop, crop) batch as the test pipeline does."""
    if not images:
        raise ValueError("no images given: expected a path, an array, a PIL image or a list of them")
    transform = EvalTransform(preprocessing)
    return torch.stack(
        [
            transform(to_rgb(image, channel_order), _describe(image, index, len(images)))
            for index, image in enumerate(images)
        ]
    )


def _describe(image: ImageInput, index: int, count: int) -> str:
    """How errors name an image: its path, else its place in the list and its kind."""
    if isinstance(image, (str, os.PathLike)):
        return str(image)
    place = f"image {index + 1} of {count}" if count > 1 else "the image"
    return f"{place} ({'a PIL image' if isinstance(image, Image.Image) else 'an array'})"


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
        f"cannot read an image from a {type(image).__name__}: expected a path, a numpy array or a PIL image"
    )


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
    """Per image: ``pred_label``, ``pred_score``, ``pred_class`` and ``pred_scores`` (all classes);
    without ``class_names`` (None or empty) a class is named by its label."""
    scores = logits.float().softmax(dim=1)
    if class_names and len(class_names) != scores.shape[1]:
        raise ValueError(f"{len(class_names)} class names for a model with {scores.shape[1]} classes")
    results = []
    for row in scores.numpy():
        label = int(row.argmax())
        results.append(
            {
                "pred_label": label,
                "pred_score": float(row[label]),
                "pred_class": class_names[label] if class_names else str(label),
                "pred_scores": row,
            }
        )
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
    results = describe_detections(detections, model.class_names)
    return results[0] if single else results


def detection_input(image: ImageInput, channel_order: str = "BGR") -> torch.Tensor:
    """An image as detection models take it: a (3, H, W) BGR float tensor in [0, 1], at its own size."""
    return to_model_input(torch.from_numpy(to_rgb(image, channel_order).copy()).permute(2, 0, 1))


def describe_detections(
    detections: Sequence[dict[str, torch.Tensor]], class_names: Sequence[str] | None
) -> list[dict[str, Any]]:
    """Per image: numpy ``boxes``, ``scores`` and ``labels``, and the labels' ``classes`` names (the
    labels themselves without ``class_names``)."""
    results = []
    for detection in detections:
        labels = detection["labels"].cpu().numpy()
        results.append(
            {
                "boxes": detection["boxes"].float().cpu().numpy(),
                "scores": detection["scores"].float().cpu().numpy(),
                "labels": labels,
                "classes": [
                    class_names[label] if class_names and label < len(class_names) else str(label) for label in labels
                ],
            }
        )
    return results


def draw_detections(
    image: ImageInput, result: dict[str, Any], score_threshold: float = 0.3, channel_order: str = "BGR"
) -> Image.Image:
    """The image with the detections of ``result`` (from :func:`detect_objects`) scoring at least
    ``score_threshold`` drawn as boxes in their class's colour, each labelled with its class and
    score where no other label is (see :mod:`mobilevit.drawing`)."""
    from .drawing import draw_boxes

    keep = np.flatnonzero(result["scores"] >= score_threshold)
    return draw_boxes(
        to_rgb(image, channel_order),
        result["boxes"][keep],
        result["labels"][keep],
        [result["classes"][index] for index in keep],
        result["scores"][keep],
    )
