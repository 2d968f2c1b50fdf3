"""Semantic segmentation: DeepLabv3- and PSPNet-MobileViT (``model.head``), image / mask pairs (VOC, SBD lists, custom pairs),
cross-entropy ignoring 255, mIoU from one confusion matrix over the whole set; ``best.pth`` is
the best mIoU.

Evaluation follows the protocol of the published figures: for v1's, the whole image resized to
``data.preprocessing.crop_size`` squared; for v2's (``preprocessing.size_multiple``, ml-cvnets
v0.2+), the short side resized with the aspect ratio kept and both sides floored to a multiple of
the output stride, one image per batch; every pixel of the set counted in one confusion matrix at
each mask's own size (not a mean over images). How the logits reach the image's own size is a setting of the weights
(``align_corners``, see :func:`~mobilevit.models.deeplabv3.published_align_corners`): v1's
(ml-cvnets v0.1) take the predicted classes with nearest neighbour; v2's (ml-cvnets v0.2+) resize
the logits bilinearly with ``align_corners=True``, then take the classes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..config import Config, ConfigError
from ..data.datasets import read_class_names
from ..data.loader import LoaderOptions, evaluation_loader, training_loader
from ..data.sampler import DENSE_MIN_BATCH
from ..data.segmentation import (
    ADE20K_CLASSES,
    IGNORE_INDEX,
    VOC_CLASSES,
    SegmentationBatch,
    SegmentationDataset,
    SegmentationTrainTransform,
    collate_eval,
    collate_train,
    find_pairs,
    save_palette_mask,
    voc_palette,
)
from ..data.transforms import EvalTransform, Preprocessing
from ..errors import UsageError
from ..models import DeepLabV3, build_pspnet, build_segmenter
from ..models.deeplabv3 import SegmentationOutput, published_align_corners
from .base import (
    LossFunction,
    Rendered,
    RenderOptions,
    Runner,
    TaskData,
    gather_over_processes,
    image_names,
    model_preprocessing,
    prepare_arrays,
    require_dense_batches,
    require_num_classes,
    sum_over_processes,
    torch_logits,
)

DEFAULT_OUTPUT_STRIDE = 16  # the published models'
DEFAULT_ATROUS_RATES = (6, 12, 18)  # the published models'
DEFAULT_POOL_SIZES = (1, 2, 3, 6)  # ml-cvnets' PSPNet's
# ml-cvnets' ADE20k segmenters (150 classes) run at output stride 8 with atrous rates 12/24/36; its
# files record neither, so a file of 150 classes without our header takes these.
ADE20K_CLASS_COUNT = 150
ADE20K_OUTPUT_STRIDE = 8
ADE20K_ATROUS_RATES = (12, 24, 36)
# The classes of the data layouts that fix them.
KNOWN_CLASSES = {"voc": VOC_CLASSES, "voc_aug": VOC_CLASSES, "ade20k": ADE20K_CLASSES}
# The heads ``model.head`` names, by their builders (each takes the arch and the options of its head).
SEGMENTER_BUILDERS = {"deeplabv3": build_segmenter, "pspnet": build_pspnet}
# The published segmentation weights' input: the whole image resized to 512x512, BGR, /255.
SEGMENTATION_PREPROCESSING = Preprocessing(resize_short=512, crop_size=512, keep_aspect_ratio=False)
# The v2 weights' (ml-cvnets v0.2+, its v2 segmentation yamls: `resize.interpolation: "bicubic"`): RGB, bicubic,
# evaluated as cvnets-eval-seg --evaluation.segmentation.resize-input-images: the short side to 512, the aspect
# ratio kept, both sides floored to a multiple of the output stride (16; the ADE20k records say 8, theirs).
V2_SEGMENTATION_PREPROCESSING = dataclasses.replace(
    SEGMENTATION_PREPROCESSING, interpolation="bicubic", channel_order="RGB", keep_aspect_ratio=True, size_multiple=16
)


@dataclass(frozen=True)
class SegmentationMetrics:
    """mIoU and pixel accuracy in percent over ``count`` images; IoU per class (None for a class
    neither present nor predicted, which the mean leaves out, as torchmetrics and ml-cvnets do)."""

    miou: float
    pixel_accuracy: float
    class_iou: list[float | None]
    count: int
    pixels: int
    skipped: tuple[str, ...] = ()

    def log_values(self) -> dict[str, float | int]:
        return {
            "miou": round(self.miou, 3),
            "pixel_accuracy": round(self.pixel_accuracy, 3),
            "images": self.count,
            "skipped_images": len(self.skipped),
        }

    def summary(self) -> str:
        return f"mIoU {self.miou:.2f}  pixel accuracy {self.pixel_accuracy:.2f}"

    def report(self, class_names: Sequence[str]) -> dict[str, Any]:
        return {
            "miou": self.miou,
            "pixel_accuracy": self.pixel_accuracy,
            "images": self.count,
            "pixels": self.pixels,
            "skipped_images": list(self.skipped),
            "per_class": [
                {"class": class_names[label] if label < len(class_names) else str(label), "iou": iou}
                for label, iou in enumerate(self.class_iou)
            ],
        }


def scores_from_confusion(matrix: torch.Tensor) -> tuple[float, float, list[float | None]]:
    """mIoU and pixel accuracy (percent) and per-class IoU (fractions) of a (truth, prediction)
    confusion matrix: IoU = diagonal / (row + column - diagonal)."""
    matrix = matrix.double()
    correct = matrix.diagonal()
    union = matrix.sum(0) + matrix.sum(1) - correct
    present = union > 0
    if not present.any():
        raise UsageError("evaluation saw no labelled pixels (every mask pixel is 255)")
    iou = correct / union.clamp(min=1)
    class_iou = [float(value) if seen else None for value, seen in zip(iou.tolist(), present.tolist())]
    return 100.0 * float(iou[present].mean()), 100.0 * float(correct.sum() / matrix.sum()), class_iou


class ConfusionMatrix:
    """Counts (true class, predicted class) pixel pairs; pixels marked 255 are left out.

    ``update`` takes logits at the evaluation size and the masks at each image's own size: the
    predicted classes are resized to the mask with nearest neighbour (the same as resizing the
    logits with nearest, then taking the argmax), or with ``align_corners=True`` (the v2 weights')
    the logits are resized bilinearly with it, then the classes taken.
    """

    def __init__(self, num_classes: int, device: torch.device, align_corners: bool = False) -> None:
        self.num_classes = num_classes
        self.align_corners = align_corners
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=device)
        self.images = torch.zeros((), dtype=torch.int64, device=device)
        self.skipped: list[str] = []

    def add(self, prediction: torch.Tensor, target: torch.Tensor) -> None:
        """Count one (H, W) prediction against its (H, W) target, both class indices."""
        keep = target != IGNORE_INDEX
        pairs = target[keep] * self.num_classes + prediction[keep]
        self.matrix += torch.bincount(pairs, minlength=self.num_classes**2).view(self.num_classes, self.num_classes)

    def update(self, output: torch.Tensor, batch: SegmentationBatch) -> None:
        self.skipped += batch.skipped
        predictions = output.argmax(dim=1)
        for logits, prediction, mask in zip(output, predictions, batch.masks):
            if prediction.shape != mask.shape and self.align_corners:
                resized = F.interpolate(logits[None].float(), size=mask.shape, mode="bilinear", align_corners=True)
                prediction = resized[0].argmax(dim=0)
            elif prediction.shape != mask.shape:
                prediction = F.interpolate(prediction[None, None].float(), size=mask.shape, mode="nearest")[0, 0]
            self.add(prediction.long(), mask)
        self.images += len(predictions) - len(batch.skipped)  # an unreadable image has one reason

    def compute(self) -> SegmentationMetrics:
        sum_over_processes(self.matrix)
        sum_over_processes(self.images)
        miou, pixel_accuracy, class_iou = scores_from_confusion(self.matrix)
        return SegmentationMetrics(
            miou,
            pixel_accuracy,
            class_iou,
            int(self.images),
            int(self.matrix.sum()),
            gather_over_processes(self.skipped),
        )


def segmentation_loss(label_smoothing: float = 0.0, aux_weight: float = 0.0) -> LossFunction:
    """Cross-entropy of full-size logits against the masks, pixels of 255 left out (a batch
    without a labelled pixel gives 0, not NaN); with an auxiliary head's logits (a
    :class:`~mobilevit.models.deeplabv3.SegmentationOutput`), plus ``aux_weight`` times theirs,
    resized to the masks as ml-cvnets' loss does (bilinear, ``align_corners=True``)."""

    def cross_entropy(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        total = F.cross_entropy(
            logits.float(), masks, ignore_index=IGNORE_INDEX, label_smoothing=label_smoothing, reduction="sum"
        )
        return total / (masks != IGNORE_INDEX).sum().clamp(min=1)

    def loss(output: torch.Tensor | SegmentationOutput, batch: SegmentationBatch) -> torch.Tensor:
        if not isinstance(output, SegmentationOutput):
            return cross_entropy(output, batch.masks)
        aux_logits = F.interpolate(
            output.aux_logits.float(), size=batch.masks.shape[-2:], mode="bilinear", align_corners=True
        )
        return cross_entropy(output.logits, batch.masks) + aux_weight * cross_entropy(aux_logits, batch.masks)

    return loss


def class_names_of(config: Config, class_names: Sequence[str] = ()) -> tuple[str, ...]:
    """The classes: the config's ``data.classes``, VOC's 21 for the VOC layouts, ADE20k's 150 for its own, else
    ``class_names`` (a checkpoint's) or the numbers 0 .. model.num_classes - 1."""
    data = config.data
    if data.classes:
        return read_class_names(data.classes, data.root)
    if data.kind in KNOWN_CLASSES:
        return KNOWN_CLASSES[data.kind]
    if class_names:
        return tuple(class_names)
    if config.model.num_classes is None:
        raise ConfigError(f"data.kind={data.kind!r} names no classes: give data.classes=[...] or model.num_classes")
    return tuple(str(label) for label in range(config.model.num_classes))


def _named_classes(config: Config) -> tuple[str, ...]:
    """The class names a config gives without reading the data set: a ``data.classes`` list, or VOC's."""
    data = config.data
    if isinstance(data.classes, (list, tuple)) and data.classes:
        return tuple(data.classes)
    known = KNOWN_CLASSES.get(data.kind, ())
    return known if config.model.num_classes == len(known) else ()


def segment(
    model: DeepLabV3,
    images: Sequence[np.ndarray],
    run: Runner | None = None,
    names: Sequence[str] = (),
    pixel_scores: bool = True,
) -> list[dict[str, Any]]:
    """Class masks and scores of RGB (H, W, 3) images at their own sizes (see
    :func:`mobilevit.inference_model`); ``run`` computes the logits of a preprocessed batch (the
    model's own by default, or an exported file's runner).

    The logits reach the image's size as the weights' ``align_corners`` says: with nearest
    neighbour (v1's), or bilinearly with ``align_corners=True`` (v2's, as ml-cvnets v0.2+).

    ``pixel_scores=False`` leaves ``pred_scores`` out, and with it the memory of the scores at the
    image's size (``4 * num_classes`` bytes per pixel, twice): resizing with nearest neighbour only
    copies the logits, so the mask is then the argmax of the softmax at the model's output size,
    copied to the pixels each output covers (the same mask, but where two probabilities are equal
    to the last bit in one computation and not in the other); a bilinear resize is done in bands
    of rows, taking the classes of each band.
    """
    run = torch_logits(model) if run is None else run
    preprocessing = model_preprocessing(model, SEGMENTATION)
    if preprocessing.size_multiple:  # each image at its own aspect ratio: one at a time
        labels = image_names(len(images), names)
        logits = [run(prepare_arrays([image], preprocessing, [label]))[0] for image, label in zip(images, labels)]
    else:
        logits = run(prepare_arrays(images, preprocessing, names))
    names = model.class_names
    results = []
    for image_logits, image in zip(logits, images):
        if getattr(model, "align_corners", False):
            results.append(_segment_aligned(image_logits, image.shape[:2], names, pixel_scores))
            continue
        rows = _nearest_indices(image_logits.shape[-2], image.shape[0])
        columns = _nearest_indices(image_logits.shape[-1], image.shape[1])
        if pixel_scores:
            scores = image_logits[:, rows[:, None], columns[None, :]].softmax(dim=0)  # of the resized logits
            mask = scores.argmax(dim=0)
            present = mask.unique().tolist()
        else:
            small_mask = image_logits.softmax(dim=0).argmax(dim=0)
            mask = small_mask[rows[:, None], columns[None, :]]
            present = small_mask[rows.unique()][:, columns.unique()].unique().tolist()
        result = {
            "pred_mask": mask.numpy(),
            "pred_classes": [names[label] if names else str(label) for label in present],
        }
        if pixel_scores:
            result["pred_scores"] = scores.numpy()
        results.append(result)
    return results


# Rows of a mask resized bilinearly at once (4 * num_classes bytes per pixel of a band).
MASK_ROWS = 64


def _segment_aligned(
    logits: torch.Tensor, size: Sequence[int], names: Sequence[str], pixel_scores: bool
) -> dict[str, Any]:
    """One image's result from its (C, h, w) logits resized bilinearly (``align_corners=True``) to
    ``size`` (H, W): as rows (H, h) and columns (W, w) of interpolation weights, so that the mask
    alone is taken in bands of rows, without the logits at the image's size."""
    rows = _aligned_weights(logits.shape[-2], size[0], logits)
    columns = _aligned_weights(logits.shape[-1], size[1], logits).transpose(0, 1)
    scores = (rows @ logits @ columns).softmax(dim=0) if pixel_scores else None
    mask = torch.empty(tuple(size), dtype=torch.int64)
    counts = torch.zeros(logits.shape[0], dtype=torch.int64)
    for top in range(0, size[0], MASK_ROWS):
        band = mask[top : top + MASK_ROWS]
        source = (
            scores[:, top : top + MASK_ROWS] if scores is not None else rows[top : top + MASK_ROWS] @ logits @ columns
        )
        torch.argmax(source, dim=0, out=band)
        counts += torch.bincount(band.flatten(), minlength=logits.shape[0])
    present = counts.nonzero().flatten().tolist()
    result = {"pred_mask": mask.numpy(), "pred_classes": [names[label] if names else str(label) for label in present]}
    if scores is not None:
        result["pred_scores"] = scores.numpy()
    return result


def _aligned_weights(source: int, target: int, like: torch.Tensor) -> torch.Tensor:
    """The (target, source) matrix of linear interpolation with ``align_corners=True``, as
    ``F.interpolate`` computes it: target position i reads source position ``i * (source - 1) / (target - 1)``."""
    scale = (source - 1) / (target - 1) if target > 1 else 0.0
    positions = torch.arange(target, dtype=torch.float32) * scale
    low = positions.floor().long().clamp(max=source - 1)
    high = (low + 1).clamp(max=source - 1)
    fraction = positions - low
    weights = torch.zeros(target, source)
    weights[torch.arange(target), low] += 1 - fraction
    weights[torch.arange(target), high] += fraction
    return weights.to(like.dtype)


def _nearest_indices(source: int, target: int) -> torch.Tensor:
    """The source index of each of ``target`` positions, as nearest-neighbour resizing picks them
    (``F.interpolate(mode='nearest')`` itself, on the positions)."""
    positions = torch.arange(source, dtype=torch.float32).view(1, 1, source, 1)
    return F.interpolate(positions, size=(target, 1), mode="nearest").view(target).long()


# Rows painted at once by overlay_mask (about 100 bytes per pixel of a band, in float64).
OVERLAY_ROWS = 256


def overlay_mask(rgb: np.ndarray, mask: np.ndarray, opacity: float = 0.5) -> Image.Image:
    """The image with its class mask painted over it in VOC's colours (the background, class 0, left clear).

    Painted in bands of rows, so a large photo takes a few bytes per pixel beyond the result.
    """
    palette = np.array(voc_palette(), np.float64).reshape(256, 3)
    painted = np.empty(rgb.shape, np.uint8)
    for top in range(0, rgb.shape[0], OVERLAY_ROWS):
        band = slice(top, top + OVERLAY_ROWS)
        colours = palette[mask[band]]
        alpha = np.where(mask[band, :, None] == 0, 0.0, opacity)
        painted[band] = (rgb[band] * (1 - alpha) + colours * alpha).round()
    return Image.fromarray(painted)


@dataclass(frozen=True)
class Segmentation:
    """The segmentation task (see :class:`mobilevit.tasks.base.Task`)."""

    name: str = "segmentation"
    best_metric: str = "miou"
    default_preprocessing: Preprocessing = SEGMENTATION_PREPROCESSING
    default_preprocessing_v2: Preprocessing = V2_SEGMENTATION_PREPROCESSING
    spatial_output: bool = True
    runner_output: str = "logits"  # what its predict takes from a runner
    pooled_head: bool = False

    def build_from_arch(self, arch: Any, head: str = "deeplabv3", **options: Any) -> DeepLabV3:
        """The segmenter of ``head`` (``deeplabv3`` or ``pspnet``) on ``arch``; ``options`` go to its builder."""
        return SEGMENTER_BUILDERS[head](arch, **options)

    def recognises(self, state_dict: Mapping[str, torch.Tensor]) -> bool:
        return any(key.startswith(("head.aspp.", "head.pyramid.")) for key in state_dict)

    def model_for_weights(self, arch: Any, state_dict: Mapping[str, torch.Tensor], metadata: Mapping) -> DeepLabV3:
        """The DeepLabv3 or PSPNet of these weights (the head's keys tell which): its width and class
        count from the shapes; the output stride, atrous rates or pooled sizes and the logits'
        ``align_corners``, which shape no tensor, from our header, else the published models'
        (ml-cvnets' ADE20k ones for 150 classes; ``align_corners`` the family's). The model is one for inference: an auxiliary
        head's keys, training's only, are left out when it is loaded."""
        classifier = state_dict["head.classifier.weight"]
        ade20k = classifier.shape[0] == ADE20K_CLASS_COUNT
        align_corners = metadata.get("align_corners")  # None: the family's published upsampling
        if align_corners is not None and not isinstance(align_corners, bool):
            raise UsageError(f"the header's align_corners must be true or false, got {align_corners!r:.80}")
        common = dict(
            num_classes=int(classifier.shape[0]),
            output_stride=metadata.get("output_stride", ADE20K_OUTPUT_STRIDE if ade20k else DEFAULT_OUTPUT_STRIDE),
            align_corners=align_corners,
        )
        if "head.pyramid.0.1.conv.weight" in state_dict:
            levels = len({key.split(".")[2] for key in state_dict if key.startswith("head.pyramid.")})
            pool_sizes = tuple(metadata.get("pool_sizes", DEFAULT_POOL_SIZES))
            if len(pool_sizes) != levels:
                raise UsageError(f"the PSPNet head has {levels} pyramid levels, and the pool sizes are {pool_sizes}")
            return build_pspnet(arch, pool_sizes=pool_sizes, channels=int(classifier.shape[1]), **common)
        return build_segmenter(
            arch,
            atrous_rates=tuple(metadata.get("atrous_rates", ADE20K_ATROUS_RATES if ade20k else DEFAULT_ATROUS_RATES)),
            aspp_channels=int(classifier.shape[1]),
            **common,
        )

    def known_class_names(self, model: DeepLabV3) -> tuple[str, ...]:
        return ()

    def settings_of(self, model: DeepLabV3) -> dict[str, Any]:
        return {
            "output_stride": model.backbone.output_stride,
            "align_corners": model.align_corners,
            **model.head.settings(),
        }

    def published(self, record: Any) -> str:
        return f"mIoU {record.miou:g} ({record.dataset} val)"

    def runner(self, model: DeepLabV3) -> Runner:
        return torch_logits(model)

    def predict(
        self,
        model: DeepLabV3,
        images: Sequence[np.ndarray],
        run: Runner,
        names: Sequence[str] = (),
        pixel_scores: bool = True,
    ) -> list[dict[str, Any]]:
        return segment(model, images, run, names, pixel_scores)

    def render(
        self, model: DeepLabV3, image: str, rgb: np.ndarray, result: dict[str, Any], stem: str, options: RenderOptions
    ) -> Rendered:
        """A palette PNG of the class indices (``STEM_mask.png``) and the image with the mask over it
        (``STEM_overlay.png``), and each class's share of the pixels."""
        mask = result["pred_mask"]
        mask_path, overlay_path = options.out_dir / f"{stem}_mask.png", options.out_dir / f"{stem}_overlay.png"
        mask_path.parent.mkdir(parents=True, exist_ok=True)
        save_palette_mask(mask, mask_path)
        overlay_mask(rgb, mask).save(overlay_path)
        shares = np.bincount(mask.ravel()) / mask.size
        classes = [(name, float(shares[label])) for label, name in zip(np.unique(mask), result["pred_classes"])]
        text = f"{image}: wrote {mask_path} and {overlay_path}; " + ", ".join(
            f"{name} {100 * share:.1f}%" for name, share in classes
        )
        record = {
            "image": image,
            "mask": str(mask_path),
            "overlay": str(overlay_path),
            "classes": [{"class": name, "share": share} for name, share in classes],
        }
        return Rendered(text, record, (mask_path, overlay_path))

    def build_model(self, config: Config, training: bool = False) -> DeepLabV3:
        """The config's segmenter; for training with ``model.aux_loss_weight`` > 0, with its auxiliary head."""
        require_num_classes(config)
        model_config = config.model
        if model_config.head == "pspnet":
            head_options: dict[str, Any] = dict(pool_sizes=model_config.pool_sizes, channels=model_config.psp_channels)
        else:
            head_options = dict(
                atrous_rates=model_config.atrous_rates,
                aspp_channels=model_config.aspp_channels,
                aspp_dropout=model_config.aspp_dropout,
            )
        model = self.build_from_arch(
            model_config.arch,
            head=model_config.head,
            num_classes=model_config.num_classes,
            output_stride=model_config.output_stride or DEFAULT_OUTPUT_STRIDE,
            classifier_dropout=model_config.dropout,
            aux_head=training and model_config.aux_loss_weight > 0,
            drop_rate=model_config.drop_rate,
            out_indices=model_config.out_indices,
            frozen_stages=model_config.frozen_stages,
            norm_eval=model_config.norm_eval,
            **head_options,
        )
        model.class_names = tuple(model_config.class_names) or _named_classes(config)
        return model

    def build_data(
        self,
        config: Config,
        train: bool,
        world_size: int = 1,
        rank: int = 0,
        pin_memory: bool = False,
        class_names: Sequence[str] = (),
    ) -> TaskData:
        data = config.data
        if data.preprocessing.keep_aspect_ratio and not data.preprocessing.size_multiple:
            raise ConfigError(
                "segmentation scores whole images: set data.preprocessing.keep_aspect_ratio=False (each image "
                "resized to crop_size squared, v1's protocol) or data.preprocessing.size_multiple to the output "
                "stride (the short side resized, the aspect ratio kept, v2's); a centre crop would drop mask pixels"
            )
        names = class_names_of(config, class_names)
        options = LoaderOptions(data.num_workers, world_size, rank, pin_memory)
        train_loader, description = None, ""
        if train:
            shapes = data.batch_shapes(world_size)
            require_dense_batches(config, shapes)
            pairs = find_pairs(data.kind, data.root, data.train_split, data.train_annotation)
            transform = SegmentationTrainTransform(data.preprocessing, data.short_side_range, data.horizontal_flip)
            train_loader = training_loader(
                SegmentationDataset(pairs, transform, len(names), data.skip_bad_images),
                shapes,
                collate_train,
                config.train.seed,
                options,
                min_batch_size=DENSE_MIN_BATCH,
            )
            description = f"{len(pairs.samples)} training images, "
        pairs = find_pairs(data.kind, data.root, data.val_split, data.val_annotation)
        val_loader = evaluation_loader(
            SegmentationDataset(pairs, EvalTransform(data.preprocessing), len(names), data.skip_bad_images),
            1 if data.preprocessing.size_multiple else data.val_batch_size,  # images of their own sizes: one a batch
            collate_eval,
            options,
        )
        description += f"{len(pairs.samples)} validation images, masks of {len(names)} classes"
        return TaskData(train_loader, val_loader, names, description)

    def training_images(self, config: Config) -> list[Path]:
        data = config.data
        return [image for image, _ in find_pairs(data.kind, data.root, data.train_split, data.train_annotation).samples]

    def loss_function(self, config: Config) -> LossFunction:
        return segmentation_loss(config.model.label_smoothing, config.model.aux_loss_weight)

    def evaluator(self, config: Config, device: torch.device) -> ConfusionMatrix:
        """The confusion matrix, resizing as the config's model upsamples (its family's published way)."""
        return ConfusionMatrix(config.model.num_classes, device, published_align_corners(config.model.arch))


SEGMENTATION = Segmentation()
