"""The public Python face: build a model with its weights, predict on images; thin calls into
:mod:`mobilevit.tasks`, which knows what each task does.

    model = init_model("mobilevit-small_3rdparty_in1k")  # the official weights, downloaded once
    inference_model(model, "demo.jpg")  # {'pred_label': 65, 'pred_class': 'sea snake', ...}

A model built here carries the ``preprocessing`` of its zoo record, config or checkpoint, so
images are prepared exactly as in the test pipeline of its weights.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .checkpoint import METADATA_KEY, Checkpoint, load_checkpoint, read_checkpoint, save_checkpoint
from .config import CONFIG_SUFFIXES, Config, config_from_dict, from_dict, load_config, to_dict
from .convert import infer_arch, is_v2_state_dict
from .convert_out import save_layout
from .data.inputs import ImageInput, describe_input, prepare_batch, to_rgb
from .data.transforms import Preprocessing
from .download import is_url
from .errors import UsageError
from .hub import is_hub_name
from .tasks import build_model, get_task, task_for_weights, task_of, torch_logits
from .tasks.base import model_preprocessing
from .tasks.classification import describe_predictions
from .tasks.detection import describe_detections
from .tasks.detection import detection_input as _detection_input
from .tasks.detection import draw_detections as _draw_detections
from .tasks.segmentation import overlay_mask, segment
from .zoo import MODELS, get_model, get_record, suggestion

__all__ = [
    "ImageInput",
    "LogitsFunction",
    "Converted",
    "checkpoint_config",
    "convert_checkpoint",
    "checkpoint_preprocessing",
    "describe_detections",
    "describe_predictions",
    "detection_input",
    "draw_detections",
    "inference_model",
    "init_model",
    "is_config_file",
    "model_without_weights",
    "overlay_mask",
    "prepare_batch",
    "preprocessing_of",
    "segment",
    "to_rgb",
    "torch_logits",
]

# Turns a preprocessed (B, 3, H, W) batch into logits; a backend other than PyTorch (an exported
# model) plugs in here.
LogitsFunction = Callable[[torch.Tensor], torch.Tensor]


def init_model(
    config_or_name: str | os.PathLike | Config | None = None,
    checkpoint: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    cfg_options: Sequence[str] = (),
    dtype: torch.dtype = torch.float32,
    fuse: bool = False,
) -> nn.Module:
    """Build a classifier, a segmenter or a detector, load its weights and return it on ``device``
    in eval mode: the model the weights describe, with the checkpoint's keys and parameter count,
    ready to predict, fine-tune (``.train()``) or inspect. ``fuse=True`` (or ``model.fuse()``
    later) folds its BatchNorms into the convolutions for inference: the same outputs to float
    rounding, fewer passes over memory, and no more training or loading of other weights.

    ``config_or_name`` is a zoo name (its official weights are downloaded once into the cache and
    checked against their hash; offline and not cached, a :class:`~mobilevit.download.DownloadError`),
    a config file (``.py``, or a run's ``config.json``) or a :class:`Config` (random weights unless
    ``checkpoint`` is given), or a checkpoint that describes its own model: one of our training checkpoints
    (the resolved config it carries), a ``.safetensors`` file of our format (the arch, classes and
    preprocessing of its header), or a file of another layout whose arch is one of the named ones
    (inferred from its shapes, with the official weights' preprocessing). A zoo name or such a
    checkpoint gives the weights, unless ``checkpoint`` names others; ``init_model(checkpoint=path)``
    is the same as ``init_model(path)``. A model without weights comes from
    :func:`~mobilevit.zoo.get_model` (``pretrained=False``) or :func:`model_without_weights`. ``checkpoint`` is a path, a directory or an http(s) URL in any
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
            raise UsageError("init_model needs a zoo name, a config file or a checkpoint")
        config_or_name = checkpoint
    model, own_weights = model_without_weights(config_or_name, cfg_options)
    if checkpoint is None or checkpoint == config_or_name:
        checkpoint = own_weights
    if checkpoint is not None:
        class_names = load_checkpoint(model, checkpoint).metadata.get("class_names")
        if class_names:
            model.class_names = tuple(class_names)
        elif not model.class_names:
            model.class_names = task_of(model).known_class_names(model)
    if not dtype.is_floating_point:
        raise UsageError(f"dtype must be a floating point type (torch.float32, torch.bfloat16), got {dtype}")
    if fuse:
        model.fuse()
    return model.to(device, dtype).eval()


def model_without_weights(
    source: str | os.PathLike | Config, cfg_options: Sequence[str] = ()
) -> tuple[nn.Module, str | Checkpoint | None]:
    """The model ``source`` describes, with its preprocessing and class names but not yet its
    weights, and where its own weights are: a zoo model's official URL, the checkpoint itself
    (read once), or None for a config (which describes an architecture, not weights)."""
    if isinstance(source, Config):
        config = config_from_dict(to_dict(source), cfg_options) if cfg_options else source
        model, preprocessing, weights = build_model(config), config.data.preprocessing, None
    elif isinstance(source, str) and source in MODELS:
        record = get_record(source)
        if cfg_options:
            raise UsageError(
                f"cfg_options change a config, and {source} is a zoo model: pass the config file {record.config} instead"
            )
        model, preprocessing, weights = get_model(source), record.preprocessing, record.url
    elif is_config_file(source):
        if not Path(source).is_file():
            raise FileNotFoundError(f"config file not found: {source}")
        config = load_config(source, cfg_options)
        model, preprocessing, weights = build_model(config), config.data.preprocessing, None
    elif is_url(source) or is_hub_name(source) or Path(source).exists():
        weights = read_checkpoint(source)
        model, preprocessing = _model_described_by(weights, cfg_options)
    else:
        raise UsageError(_not_a_model(str(source)))
    model.preprocessing = preprocessing
    return model, weights


def is_config_file(source: str | os.PathLike | Config) -> bool:
    """Whether ``source`` names a config file (``.py``, or ``.json`` as runs save theirs) rather than
    a zoo model or a checkpoint."""
    return isinstance(source, (str, os.PathLike)) and not is_url(source) and Path(source).suffix in CONFIG_SUFFIXES


def checkpoint_config(checkpoint: str | os.PathLike | Checkpoint, cfg_options: Sequence[str] = ()) -> Config:
    """The resolved config one of our training checkpoints carries, with ``cfg_options`` applied."""
    checkpoint = checkpoint if isinstance(checkpoint, Checkpoint) else read_checkpoint(checkpoint)
    if "config" not in checkpoint.metadata:
        raise UsageError(
            f"{checkpoint.path} ({checkpoint.layout} layout) carries no config, as only training "
            "checkpoints do: give its config file as well"
        )
    return config_from_dict(checkpoint.metadata["config"], cfg_options, where=f"the config in {checkpoint.path}")


def _model_described_by(checkpoint: Checkpoint, cfg_options: Sequence[str]) -> tuple[nn.Module, Preprocessing]:
    """The model and preprocessing a checkpoint describes: its config, else its task's model of
    the arch our format's header names or the shapes show, with the settings the header records."""
    if "config" in checkpoint.metadata:
        config = checkpoint_config(checkpoint, cfg_options)
        return build_model(config), config.data.preprocessing
    if cfg_options:
        raise UsageError(
            f"{checkpoint.path} ({checkpoint.layout} layout) carries no config for cfg_options to "
            "change: give the config file as well"
        )
    return _model_for_weights(checkpoint), checkpoint_preprocessing(checkpoint)


def _model_for_weights(checkpoint: Checkpoint, arch: Any = None) -> nn.Module:
    """The model of a checkpoint without a config: its task's (our header names it, else the
    weights show it), of ``arch`` or the arch the header names or the shapes show."""
    metadata = checkpoint.metadata
    task = get_task(metadata["task"]) if "task" in metadata else task_for_weights(checkpoint.state_dict)
    arch = arch or metadata.get("arch") or infer_arch(checkpoint.state_dict)
    try:
        return task.model_for_weights(arch, checkpoint.state_dict, metadata)
    except ValueError as error:
        raise type(error)(f"{checkpoint.path}: {error}") from None


@dataclass(frozen=True)
class Converted:
    """What :func:`convert_checkpoint` read and wrote."""

    source: Path
    layout: str
    task: str
    arch: Any
    num_classes: int
    destination: Path
    tensors: int


def convert_checkpoint(
    source: str | os.PathLike,
    destination: str | os.PathLike,
    arch: Any = None,
    config: str | os.PathLike | Config | None = None,
    to: str = "mobilevit",
) -> Converted:
    """Convert a checkpoint of any known layout and task into our ``.safetensors`` format.

    The model is described as :func:`init_model` describes it (a training checkpoint's config, our
    header, else the task and arch its weights show), or by ``config`` (a custom arch, say), with
    ``arch`` in place of the one found; the weights are loaded into it, which checks every name and
    shape before anything is written. The file records the task, the class names, the
    preprocessing and every setting that shapes no tensor (a segmenter's atrous rates and output
    stride, a detector's decoding), so it describes its model alone. ``to`` names a peer's layout to
    write instead (:data:`mobilevit.convert_out.TARGETS`).
    """
    checkpoint = read_checkpoint(source)
    if config is not None:
        described = config if isinstance(config, Config) else load_config(config)
        model, preprocessing, arch = build_model(described), described.data.preprocessing, described.model.arch
    elif "config" in checkpoint.metadata and arch is None:
        model, preprocessing = _model_described_by(checkpoint, ())
        arch = checkpoint_config(checkpoint).model.arch
    else:
        arch = arch or checkpoint.metadata.get("arch") or infer_arch(checkpoint.state_dict)
        model, preprocessing = _model_for_weights(checkpoint, arch), checkpoint_preprocessing(checkpoint)
    task = task_of(model)
    has_head = any(key.startswith("head.") for key in checkpoint.state_dict)
    load_checkpoint(model, checkpoint, strict_head=has_head)
    ours = model.state_dict()  # what the model loaded: a training-only module (an auxiliary head) is left out
    state_dict = {key: value for key, value in checkpoint.state_dict.items() if key in ours}
    class_names = checkpoint.metadata.get("class_names") or list(model.class_names) or None
    if to != "mobilevit":
        settings = task.settings_of(model)
        written = save_layout(destination, to, state_dict, arch, preprocessing, class_names, settings)
    else:
        written = save_checkpoint(
            destination,
            state_dict,
            arch,
            preprocessing,
            source_layout=checkpoint.layout,
            class_names=class_names,
            task=task.name,
            **task.settings_of(model),
        )
    return Converted(checkpoint.path, checkpoint.layout, task.name, arch, model.num_classes, written, len(state_dict))


def checkpoint_preprocessing(checkpoint: Checkpoint) -> Preprocessing:
    """How the images of a checkpoint's model are prepared: as its config or our format's header
    says, else as for the official weights of its task (every layout is converted to take their input)."""
    if "config" in checkpoint.metadata:
        return checkpoint_config(checkpoint).data.preprocessing
    if "preprocessing" in checkpoint.metadata:
        where = f"the {METADATA_KEY!r} header of {checkpoint.path}"
        return from_dict(Preprocessing, checkpoint.metadata["preprocessing"], where, prefix="preprocessing.")
    task = task_for_weights(checkpoint.state_dict)
    if is_v2_state_dict(checkpoint.state_dict):  # the v2 weights take RGB
        return task.default_preprocessing_v2
    return task.default_preprocessing


def _not_a_model(text: str) -> str:
    return (
        f"unknown model {text!r}: neither a zoo model nor a config file nor a checkpoint.{suggestion(text)} "
        f"Zoo models: {', '.join(MODELS)}"
    )


def inference_model(
    model: nn.Module, images: ImageInput | Sequence[ImageInput], channel_order: str = "BGR"
) -> dict[str, Any] | list[dict[str, Any]]:
    """Classify, segment or detect objects in one image or a list of them (one batched forward pass).

    An image is a file path, a PIL image, or an (H, W, 3) / (H, W) uint8 array whose channels are
    in ``channel_order`` (BGR, as OpenCV reads, by default). A classifier's result holds
    ``pred_label``, ``pred_score``, ``pred_class`` and ``pred_scores`` (the softmax over all
    classes, numpy). A segmenter's holds ``pred_mask``, the (H, W) class indices at the image's own
    size, ``pred_scores``, the (num_classes, H, W) softmax, and ``pred_classes``, the names of the
    classes in the mask, computed as the published segmentation figures were: the whole image resized
    to the model's ``preprocessing.crop_size`` squared and the logits back with nearest neighbour
    (v1), or, with ``preprocessing.size_multiple``, the short side resized at the image's aspect ratio,
    each image run alone and the logits back bilinearly with ``align_corners=True`` (v2). A detector's holds numpy ``boxes`` (N, 4) as (x1, y1, x2, y2)
    in the image's own pixels, ``scores``, ``labels`` and their ``classes`` names, best first.
    The model is left as it is: threads may share it.
    """
    single = not isinstance(images, (list, tuple))
    items = [images] if single else list(images)
    if not items:
        raise UsageError("no images given: expected a path, an array, a PIL image or a list of them")
    rgbs = [to_rgb(image, channel_order) for image in items]
    names = [describe_input(image, index, len(items)) for index, image in enumerate(items)]
    task = task_of(model)
    results = task.predict(model, rgbs, task.runner(model), names)
    return results[0] if single else results


def detect_objects(
    model: nn.Module, images: ImageInput | Sequence[ImageInput], channel_order: str = "BGR"
) -> dict[str, Any] | list[dict[str, Any]]:
    """Detect objects in one image or a list of them: :func:`inference_model` of a detector."""
    return inference_model(model, images, channel_order)


def preprocessing_of(model: nn.Module) -> Preprocessing:
    """The model's preprocessing or, for a model built without it, its task's published one for the
    model's family (v1 or v2)."""
    return model_preprocessing(model, task_of(model))


def detection_input(image: ImageInput, channel_order: str = "BGR", model: nn.Module | None = None) -> torch.Tensor:
    """An image (its channels in ``channel_order``) as a detector takes it: a (3, H, W) float tensor in
    [0, 1] at its own size, in ``model``'s channel order (its preprocessing's, else its family's:
    RGB for MobileViT v2, BGR for v1), BGR without a model."""
    model_order = "BGR" if model is None else preprocessing_of(model).channel_order
    return _detection_input(to_rgb(image, channel_order), model_order)


def draw_detections(
    image: ImageInput, result: dict[str, Any], score_threshold: float = 0.3, channel_order: str = "BGR"
):
    """The image with the detections of ``result`` (from :func:`inference_model`) scoring at least
    ``score_threshold`` drawn as labelled boxes."""
    return _draw_detections(to_rgb(image, channel_order), result, score_threshold)
