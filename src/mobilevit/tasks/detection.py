"""Object detection: SSDLite-MobileViT, COCO or boxes-file data with SSD's augmentation, SSD's
multibox loss, COCO mAP@[.5:.95] by pycocotools; ``best.pth`` is the best mAP.

Class names carry the background first (label 0), so that ``class_names[label]`` names a
detection and ``len(class_names)`` is the model's ``num_classes`` (81 for COCO).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image

from ..config import Config
from ..convert import num_classes_of
from ..data.detection import (
    DetectionBatch,
    DetectionDataset,
    DetectionList,
    DetectionTrainTransform,
    collate_detections,
    find_detections,
    to_model_input,
)
from ..data.loader import LoaderOptions, evaluation_loader, training_loader
from ..data.sampler import DENSE_MIN_BATCH, BatchShape
from ..data.transforms import Preprocessing
from ..drawing import draw_boxes
from ..errors import MissingPackageError, UsageError
from ..models import DecodingSettings
from .base import (
    LossFunction,
    Rendered,
    RenderOptions,
    Runner,
    TaskData,
    model_preprocessing,
    refuse_size_multiple,
    require_dense_batches,
)

# The SSDLite module builds on torchvision's detection parts, and torchvision takes 2 s to import: the functions
# that build a detector import it, so that listing or running the other tasks never does.
if TYPE_CHECKING:
    from ..models import SSDBoxCoding, SSDLite

# The published v1 detection weights' input: the whole image resized to 320x320 (bilinear), BGR, /255.
DETECTION_PREPROCESSING = Preprocessing(resize_short=320, crop_size=320, keep_aspect_ratio=False)
# The v2 weights' (ml-cvnets v0.2+, config/detection/ssd_coco/mobilevit_v2.yaml: 320x320 bicubic; PIL, RGB).
V2_DETECTION_PREPROCESSING = dataclasses.replace(DETECTION_PREPROCESSING, interpolation="bicubic", channel_order="RGB")

BACKGROUND = "background"
# COCOeval's summary, in its order: (name, IoU thresholds, area range)
AP_NAMES = ("map", "ap50", "ap75", "ap_small", "ap_medium", "ap_large")


@dataclass(frozen=True)
class DetectionMetrics:
    """COCO box AP in percent (None where the ground truth has no box of that size), per-class AP
    (IoU .5:.95, all sizes; label order, background left out) and the images evaluated."""

    map: float
    ap50: float
    ap75: float
    ap_small: float | None
    ap_medium: float | None
    ap_large: float | None
    class_ap: list[float | None]
    count: int
    skipped: tuple[str, ...] = ()

    def log_values(self) -> dict[str, Any]:
        values = {name: None if getattr(self, name) is None else round(getattr(self, name), 3) for name in AP_NAMES}
        return {**values, "images": self.count, "skipped_images": len(self.skipped)}

    def summary(self) -> str:
        return f"mAP {self.map:.2f}  AP50 {self.ap50:.2f}  AP75 {self.ap75:.2f}"

    def report(self, class_names: Sequence[str]) -> dict[str, Any]:
        names = [name for name in class_names if name != BACKGROUND] if class_names else []
        return {
            **{name: getattr(self, name) for name in AP_NAMES},
            "images": self.count,
            "skipped_images": list(self.skipped),
            "per_class": [
                {"class": names[index] if index < len(names) else str(index + 1), "ap": ap}
                for index, ap in enumerate(self.class_ap)
            ],
        }


class DetectionEvaluator:
    """COCO box AP of detections over a :class:`DetectionList`, with pycocotools.

    Every process adds the detections of its share of the images; ``compute`` gathers them (a
    collective) so each image counts exactly once, and scores them against the list's ground
    truth, crowd regions included as COCO's ignore regions, category ids as in the file.
    """

    def __init__(self, detections: DetectionList, coding: SSDBoxCoding | None = None) -> None:
        self.detections = detections
        self.coding = coding
        self.rows: list[np.ndarray] = []  # (image_id, x, y, w, h, score, category_id) per detection
        self.image_ids: list[int] = []
        self.skipped: list[str] = []

    def update(self, output: dict[str, torch.Tensor], batch: DetectionBatch) -> None:
        """Decode the model's raw outputs on ``batch`` to its images' pixels and add them."""
        if self.coding is None:
            raise UsageError("an evaluator built without a box coding cannot decode raw outputs; use add()")
        self.skipped += batch.skipped
        sizes = [tuple(size) for size in batch.image_sizes.tolist()]
        self.add(batch.image_ids.tolist(), self.coding.decode(output, sizes))

    def add(self, image_ids: Sequence[int], detections: Sequence[dict[str, torch.Tensor]]) -> None:
        """Add per-image ``{'boxes' (xyxy pixels), 'scores', 'labels' (contiguous)}``; image id -1 (a
        skipped unreadable image) is left out."""
        category_ids = np.array((0, *self.detections.category_ids))
        for image_id, detection in zip(image_ids, detections):
            if image_id < 0:
                continue
            self.image_ids.append(int(image_id))
            boxes = detection["boxes"].detach().float().cpu().numpy().reshape(-1, 4)
            rows = np.empty((len(boxes), 7))
            rows[:, 0] = image_id
            rows[:, 1:3] = boxes[:, :2]
            rows[:, 3:5] = boxes[:, 2:] - boxes[:, :2]
            rows[:, 5] = detection["scores"].detach().float().cpu().numpy()
            rows[:, 6] = category_ids[detection["labels"].cpu().numpy()]
            self.rows.append(rows)

    def compute(self) -> DetectionMetrics:
        rows = np.concatenate(self.rows) if self.rows else np.empty((0, 7))
        image_ids, skipped = self.image_ids, self.skipped
        if dist.is_initialized():
            gathered: list[Any] = [None] * dist.get_world_size()
            dist.all_gather_object(gathered, (rows, image_ids, skipped))
            rows = np.concatenate([part[0] for part in gathered])
            image_ids = [image_id for part in gathered for image_id in part[1]]
            skipped = [reason for part in gathered for reason in part[2]]
        if not image_ids:
            raise UsageError("evaluation saw no images")
        if len(set(image_ids)) != len(image_ids):
            raise UsageError("an image was evaluated more than once")
        stats, class_ap = coco_box_ap(self.detections, rows, sorted(image_ids))
        return DetectionMetrics(*stats, class_ap=class_ap, count=len(image_ids), skipped=tuple(skipped))


def coco_ground_truth(detections: DetectionList, image_ids: Sequence[int]) -> dict[str, Any]:
    """The COCO-format ground truth of the listed images (crowd regions flagged ``iscrowd``)."""
    wanted = set(image_ids)
    images, annotations = [], []
    for image in detections.images:
        if image.image_id not in wanted:
            continue
        images.append({"id": image.image_id, "width": image.width, "height": image.height})
        for box, label, area, crowd in zip(image.boxes, image.labels, image.areas, image.crowd):
            x1, y1, x2, y2 = (float(value) for value in box)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image.image_id,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "category_id": detections.category_ids[int(label) - 1],
                    "area": float(area),
                    "iscrowd": int(crowd),
                }
            )
    categories = [
        {"id": category, "name": name} for category, name in zip(detections.category_ids, detections.class_names)
    ]
    return {"images": images, "annotations": annotations, "categories": categories}


def coco_box_ap(
    detections: DetectionList, rows: np.ndarray, image_ids: Sequence[int]
) -> tuple[list[float | None], list[float | None]]:
    """COCOeval's six box APs (percent) and the per-category AP of ``rows`` (image_id, x, y, w, h,
    score, category_id) over ``image_ids``; pycocotools' console output is kept off the terminal."""
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError:
        raise MissingPackageError("COCO evaluation needs pycocotools: pip install 'mobilevit[detection]'") from None
    num_classes = len(detections.category_ids)
    if len(rows) == 0:
        return [0.0] * len(AP_NAMES), [0.0] * num_classes
    with contextlib.redirect_stdout(io.StringIO()):
        ground_truth = COCO()
        ground_truth.dataset = coco_ground_truth(detections, image_ids)
        ground_truth.createIndex()
        evaluation = COCOeval(ground_truth, ground_truth.loadRes(rows), "bbox")
        evaluation.params.imgIds = list(image_ids)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    stats = [None if value < 0 else 100.0 * float(value) for value in evaluation.stats[: len(AP_NAMES)]]
    precision = evaluation.eval["precision"][:, :, :, 0, -1]  # IoUs, recalls, categories; all areas, 100 dets
    class_ap = []
    for index in range(num_classes):
        values = precision[:, :, index]
        values = values[values > -1]
        class_ap.append(100.0 * float(values.mean()) if values.size else None)
    return [
        0.0 if value is None and name in ("map", "ap50", "ap75") else value for name, value in zip(AP_NAMES, stats)
    ], class_ap


def box_coding(config: Config) -> SSDBoxCoding:
    from ..models import SSDBoxCoding

    """The anchors, matching, loss and decoding of the config's detector."""
    return SSDBoxCoding(config.model.num_classes, config.detection.decoding(), config.model.arch)


def _split(config: Config, train: bool, class_names: Sequence[str] = ()) -> DetectionList:
    data = config.data
    split, annotation = (data.train_split, data.train_annotation) if train else (data.val_split, data.val_annotation)
    names = [name for name in class_names if name != BACKGROUND]
    return find_detections(data.kind, f"{data.root}/{annotation}", f"{data.root}/{split}", names)


def detection_input(rgb: np.ndarray, channel_order: str = "BGR") -> torch.Tensor:
    """An RGB (H, W, 3) uint8 array as detectors take it: a (3, H, W) float tensor in [0, 1] at its
    own size, its channels in the model's ``channel_order``."""
    return to_model_input(torch.from_numpy(rgb.copy()).permute(2, 0, 1), channel_order)


def detector_runner(model: SSDLite, interpolation: str = "bilinear") -> Runner:
    """Detections of a list of (3, H, W) images by ``model`` in eval mode, each resized with
    ``interpolation`` (the model's preprocessing's), the model left as it was."""

    def detect(images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        try:
            with torch.inference_mode():
                return model.detect([image.to(device) for image in images], interpolation)
        finally:
            model.train(was_training)

    return detect


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


def draw_detections(rgb: np.ndarray, result: dict[str, Any], score_threshold: float = 0.3) -> Image.Image:
    """The RGB image with the detections of ``result`` scoring at least ``score_threshold`` drawn as
    boxes in their class's colour, each labelled with its class and score where no other label is
    (see :mod:`mobilevit.drawing`)."""
    keep = np.flatnonzero(result["scores"] >= score_threshold)
    return draw_boxes(
        rgb,
        result["boxes"][keep],
        result["labels"][keep],
        [result["classes"][index] for index in keep],
        result["scores"][keep],
    )


@dataclass(frozen=True)
class Detection:
    """The detection task (see :class:`mobilevit.tasks.base.Task`)."""

    name: str = "detection"
    best_metric: str = "map"
    default_preprocessing: Preprocessing = DETECTION_PREPROCESSING
    default_preprocessing_v2: Preprocessing = V2_DETECTION_PREPROCESSING
    spatial_output: bool = False
    runner_output: str = "detections"  # what its predict takes from a runner
    pooled_head: bool = False

    def build_from_arch(self, arch: Any, **options: Any) -> SSDLite:
        from ..models import build_ssdlite

        return build_ssdlite(arch, **options)

    def recognises(self, state_dict: Mapping[str, torch.Tensor]) -> bool:
        return any(key.startswith("head.levels.") for key in state_dict)

    def model_for_weights(self, arch: Any, state_dict: Mapping[str, torch.Tensor], metadata: Mapping) -> SSDLite:
        """The SSDLite of these weights: the class count from the first level's predictor (anchors
        times box coding and classes); the decoding settings from our header, else the published models'."""
        from ..models import build_ssdlite

        return build_ssdlite(arch, num_classes=num_classes_of(state_dict), **DecodingSettings.of(metadata).as_dict())

    def known_class_names(self, model: SSDLite) -> tuple[str, ...]:
        return ()

    def settings_of(self, model: SSDLite) -> dict[str, Any]:
        return model.decoding.as_dict()

    def published(self, record: Any) -> str:
        return f"mAP {record.map:.1f} (COCO val2017)"

    def runner(self, model: SSDLite) -> Runner:
        return detector_runner(model, model_preprocessing(model, self).interpolation)

    def predict(
        self,
        model: SSDLite,
        images: Sequence[np.ndarray],
        run: Runner,
        names: Sequence[str] = (),
        pixel_scores: bool = True,  # it has no scores per pixel
    ) -> list[dict[str, Any]]:
        """Boxes in each image's own pixels (the runner resizes each image to the input size, with
        the interpolation of an exported file's settings or of the model's preprocessing, and maps
        the boxes back), best first; see :func:`describe_detections`. The images go in the channel
        order of an exported file's runner where it records one, else the model's."""
        if not images:
            raise UsageError("no images given: expected a path, an array, a PIL image or a list of them")
        channel_order = getattr(run, "channel_order", None) or model_preprocessing(model, self).channel_order
        inputs = [detection_input(image, channel_order) for image in images]
        return describe_detections(run(inputs), model.class_names or None)

    def render(
        self, model: SSDLite, image: str, rgb: np.ndarray, result: dict[str, Any], stem: str, options: RenderOptions
    ) -> Rendered:
        """The image with its boxes drawn (``STEM_detections.png``) and the detections scoring at
        least ``options.score_threshold``."""
        threshold = options.score_threshold
        found = [
            {
                "box": [round(float(value), 2) for value in box],
                "score": float(score),
                "label": int(label),
                "class": name,
            }
            for box, score, label, name in zip(result["boxes"], result["scores"], result["labels"], result["classes"])
            if score >= threshold
        ]
        path = options.out_dir / f"{stem}_detections.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        draw_detections(rgb, result, threshold).save(path)
        lines = [f"{image}: {len(found)} detections with score >= {threshold} (drawn in {path})"]
        lines += [
            f"  {item['class']:<16} {item['score']:.3f}  ({item['box'][0]:.1f}, {item['box'][1]:.1f}, "
            f"{item['box'][2]:.1f}, {item['box'][3]:.1f})"
            for item in found
        ]
        return Rendered("\n".join(lines), {"image": image, "detections": found, "drawn": str(path)}, (path,))

    def build_model(self, config: Config, training: bool = False) -> SSDLite:
        """SSDLite-MobileViT as the config describes it, with freshly initialised weights (training
        seeds them from ``model.pretrained``: with ``model.pretrained_keys='backbone'`` a
        classification checkpoint seeds the MobileViT stages)."""
        from ..models import build_ssdlite

        model_config = config.model
        model = build_ssdlite(
            model_config.arch,
            model_config.num_classes,
            **config.detection.decoding().as_dict(),
            frozen_stages=model_config.frozen_stages,
            norm_eval=model_config.norm_eval,
            drop_rate=model_config.drop_rate,
        )
        model.class_names = tuple(model_config.class_names)
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
        refuse_size_multiple(config)
        data, size = config.data, config.detection.image_size
        # the model's: BGR and bilinear for v1's weights, RGB and bicubic for v2's
        channel_order, interpolation = data.preprocessing.channel_order, data.preprocessing.interpolation
        options = LoaderOptions(data.num_workers, world_size, rank, pin_memory)
        train_loader, names, description = None, tuple(class_names), ""
        if train:
            require_dense_batches(config, [BatchShape(size, size, data.batch_size)])
            train_list = _split(config, True, names).with_boxes()
            names = (BACKGROUND, *train_list.class_names)
            settings = config.detection
            transform = DetectionTrainTransform(
                size,
                settings.random_crop,
                settings.photometric_distort,
                data.horizontal_flip,
                channel_order,
                interpolation,
            )
            train_loader = training_loader(
                DetectionDataset(train_list, size, transform, data.skip_bad_images, channel_order, interpolation),
                [BatchShape(size, size, data.batch_size)],
                collate_detections,
                config.train.seed,
                options,
                min_batch_size=DENSE_MIN_BATCH,
            )
            description = f"{len(train_list.images)} training images, "
        val_list = _split(config, False, names)
        names = (BACKGROUND, *val_list.class_names)
        val_loader = evaluation_loader(
            DetectionDataset(
                val_list,
                size,
                skip_bad_images=data.skip_bad_images,
                channel_order=channel_order,
                interpolation=interpolation,
            ),
            data.val_batch_size,
            collate_detections,
            options,
        )
        description += f"{len(val_list.images)} validation images of {len(names) - 1} classes"
        return TaskData(train_loader, val_loader, names, description)

    def training_images(self, config: Config) -> list[Path]:
        return [Path(image.path) for image in _split(config, True).images]

    def loss_function(self, config: Config) -> LossFunction:
        coding = box_coding(config)

        def loss(outputs: dict[str, torch.Tensor], batch: DetectionBatch) -> torch.Tensor:
            losses = coding.loss({key: value.float() for key, value in outputs.items()}, batch.boxes, batch.labels)
            return losses["bbox_regression"] + losses["classification"]

        return loss

    def evaluator(self, config: Config, device: torch.device) -> DetectionEvaluator:
        return DetectionEvaluator(_split(config, False, config.model.class_names), box_coding(config))


DETECTION = Detection()
