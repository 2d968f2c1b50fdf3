"""Object detection data: COCO annotation files, a simple boxes file for one's own data, SSD's
augmentation (torchvision.transforms.v2), the data set and its batches.

Labels are contiguous: 0 is the background, 1..K the classes in the order of ``class_names``
(COCO: its category ids sorted), and ``category_ids[k - 1]`` maps label k back to the file's
category id for evaluation. Boxes are (x1, y1, x2, y2) in pixels throughout.

Boxes files (``kind='boxes'``), for one's own data::

    {"classes": ["cat", "dog"],
     "images": [{"file": "a.jpg", "boxes": [[x1, y1, x2, y2], ...], "labels": ["cat", ...]}, ...]}

``file`` is relative to the image folder; a label is a class name or its index in ``classes``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..errors import UsageError
from .image import ImageReadError, open_image, read_image, upright_size
from .sampler import SampleRequest
from .transforms import check_channel_order, check_interpolation

# COCO's 80 classes in the order of their category ids (contiguous labels 1..80; 0 is the background).
COCO_CLASSES = (
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "airplane",
    "bus",
    "train",
    "truck",
    "boat",
    "traffic light",
    "fire hydrant",
    "stop sign",
    "parking meter",
    "bench",
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "cow",
    "elephant",
    "bear",
    "zebra",
    "giraffe",
    "backpack",
    "umbrella",
    "handbag",
    "tie",
    "suitcase",
    "frisbee",
    "skis",
    "snowboard",
    "sports ball",
    "kite",
    "baseball bat",
    "baseball glove",
    "skateboard",
    "surfboard",
    "tennis racket",
    "bottle",
    "wine glass",
    "cup",
    "fork",
    "knife",
    "spoon",
    "bowl",
    "banana",
    "apple",
    "sandwich",
    "orange",
    "broccoli",
    "carrot",
    "hot dog",
    "pizza",
    "donut",
    "cake",
    "chair",
    "couch",
    "potted plant",
    "bed",
    "dining table",
    "toilet",
    "tv",
    "laptop",
    "mouse",
    "remote",
    "keyboard",
    "cell phone",
    "microwave",
    "oven",
    "toaster",
    "sink",
    "refrigerator",
    "book",
    "clock",
    "vase",
    "scissors",
    "teddy bear",
    "hair drier",
    "toothbrush",
)
# A box may overhang its image by this many pixels (COCO's float boxes do, by rounding); it is clipped.
OVERHANG_TOLERANCE = 1.0


@dataclass(frozen=True)
class ImageBoxes:
    """One image's annotations: ``boxes`` (N, 4) xyxy pixels, ``labels`` (N,) contiguous, ``areas``
    (N,) (COCO's own, which sets the small/medium/large ranges), ``crowd`` (N,) bool; crowd regions
    are not trained on, only ignored by the evaluation, as COCO's."""

    path: Path
    image_id: int
    width: int
    height: int
    boxes: np.ndarray
    labels: np.ndarray
    areas: np.ndarray
    crowd: np.ndarray

    def training_boxes(self) -> tuple[np.ndarray, np.ndarray]:
        """The boxes and labels to train on: crowd regions left out."""
        keep = ~self.crowd
        return self.boxes[keep], self.labels[keep]


@dataclass(frozen=True)
class DetectionList:
    """Annotated images, the class names labels 1..K index, and each class's category id."""

    images: list[ImageBoxes]
    class_names: tuple[str, ...]
    category_ids: tuple[int, ...]
    source: Path

    def with_boxes(self) -> DetectionList:
        """Only the images with something to train on (ml-cvnets trains on annotated images only)."""
        kept = [image for image in self.images if (~image.crowd).any()]
        if not kept:
            raise UsageError(f"{self.source}: no image has a box to train on")
        return DetectionList(kept, self.class_names, self.category_ids, self.source)


def read_json(path: Path) -> Any:
    """A JSON file's content; a missing or unreadable file raises an error naming it."""
    if not path.is_file():
        raise FileNotFoundError(f"annotation file not found: {path}")
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"cannot read annotation file {path}: {error}") from None


class AnnotationError(UsageError):
    """An annotation file, or one of its entries, that cannot be used: the error names the file,
    the image and the field."""


def _entry(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise AnnotationError(f"{where}: expected an object {{...}}, got {_shown(value)}")
    return value


def _field(entry: dict[str, Any], field: str, where: str) -> Any:
    if field not in entry:
        raise AnnotationError(f"{where}: the field {field!r} is missing")
    return entry[field]


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _integer(value: Any, field: str, where: str, least: int | None = None) -> int:
    """An integer field (an integral JSON number such as 64.0 counts); ``least`` is its lowest value."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or (least is not None and value < least):
        what = "an integer" if least is None else f"an integer of at least {least}"
        raise AnnotationError(f"{where}: {field} must be {what}, got {_shown(value)}")
    return value


def _text(value: Any, field: str, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise AnnotationError(f"{where}: {field} must be a non-empty string, got {_shown(value)}")
    return value


def _list(value: Any, field: str, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise AnnotationError(f"{where}: {field} must be a list, got {_shown(value)}")
    return value


def _numbers(value: Any, field: str, where: str) -> list[float]:
    """Four finite numbers (a box)."""
    if (
        not isinstance(value, list)
        or len(value) != 4
        or not all(isinstance(number, (int, float)) and not isinstance(number, bool) for number in value)
        or not all(np.isfinite(value))
    ):
        raise AnnotationError(f"{where}: {field} must be a list of 4 finite numbers, got {_shown(value)}")
    return [float(number) for number in value]


def read_coco(annotation_file: str | os.PathLike, image_dir: str | os.PathLike) -> DetectionList:
    """A COCO ``instances_*.json`` and its image folder, checked field by field.

    Image and category ids are unique integers; images have a ``file_name`` and positive integer
    ``width`` and ``height``; a box is 4 finite numbers of non-negative width and height inside its
    image, ``iscrowd`` is 0 or 1, ``area`` a finite number >= 0. Crowd annotations are kept as
    ignore regions for the evaluation; boxes of zero width or height are left out (nothing to learn
    or match). Every error names the file, the image and the field.
    """
    path = Path(annotation_file)
    content = _entry(read_json(path), f"{path} (a COCO annotation file)")
    categories: dict[int, str] = {}
    for index, category in enumerate(_list(_field(content, "categories", str(path)), "categories", str(path))):
        where = f"{path}, category {index}"
        category = _entry(category, where)
        category_id = _integer(_field(category, "id", where), "id", where)
        if category_id in categories:
            raise AnnotationError(
                f"{where}: the category id {category_id} is already that of {categories[category_id]!r}"
            )
        categories[category_id] = _text(_field(category, "name", where), "name", where)
    images: dict[int, dict[str, Any]] = {}
    for index, image in enumerate(_list(_field(content, "images", str(path)), "images", str(path))):
        where = f"{path}, image {index}"
        image = _entry(image, where)
        image_id = _integer(_field(image, "id", where), "id", where)
        where = f"{path}, image {index} (id {image_id})"
        file_name = _text(_field(image, "file_name", where), "file_name", where)
        where = f"{path}, image {file_name} (id {image_id})"
        if image_id in images:
            raise AnnotationError(
                f"{where}: the image id {image_id} is already that of {images[image_id]['file_name']}"
            )
        images[image_id] = {
            "file_name": file_name,
            "width": _integer(_field(image, "width", where), "width", where, least=1),
            "height": _integer(_field(image, "height", where), "height", where, least=1),
        }
    labels = {category: label for label, category in enumerate(sorted(categories), start=1)}
    per_image: dict[int, list[tuple[list[float], int, float, bool]]] = {image_id: [] for image_id in images}
    for index, annotation in enumerate(_list(content.get("annotations", []), "annotations", str(path))):
        annotation = _entry(annotation, f"{path}, annotation {index}")
        where = f"{path}, annotation {annotation.get('id', index)}"
        image_id = _integer(_field(annotation, "image_id", where), "image_id", where)
        if image_id not in images:
            raise AnnotationError(f"{where}: unknown image id {image_id}")
        image = images[image_id]
        where = f"{where} (image {image['file_name']})"
        category = _integer(_field(annotation, "category_id", where), "category_id", where)
        if category not in labels:
            raise AnnotationError(
                f"{where}: unknown category id {category}; the file's categories are {sorted(labels)}"
            )
        x, y, width, height = _numbers(_field(annotation, "bbox", where), "bbox [x, y, width, height]", where)
        if width < 0 or height < 0:
            raise AnnotationError(f"{where}: bbox {[x, y, width, height]} has a negative width or height")
        crowd = _integer(annotation.get("iscrowd", 0), "iscrowd", where)
        if crowd not in (0, 1):
            raise AnnotationError(f"{where}: iscrowd must be 0 or 1, got {crowd}")
        area = annotation.get("area", width * height)
        if isinstance(area, bool) or not isinstance(area, (int, float)) or not np.isfinite(area) or area < 0:
            raise AnnotationError(f"{where}: area must be a finite number >= 0, got {_shown(area)}")
        if width == 0 or height == 0:
            continue  # degenerate: nothing to learn or match
        box = _checked_box([x, y, x + width, y + height], image["width"], image["height"], where)
        per_image[image_id].append((box, labels[category], float(area), bool(crowd)))
    items = [
        _image_boxes(
            Path(image_dir) / image["file_name"], image_id, image["width"], image["height"], per_image[image_id]
        )
        for image_id, image in sorted(images.items())
    ]
    if not items:
        raise AnnotationError(f"{path} lists no images")
    return DetectionList(
        items, tuple(categories[category] for category in sorted(categories)), tuple(sorted(categories)), path
    )


def read_boxes_file(
    annotation_file: str | os.PathLike, image_dir: str | os.PathLike, class_names: Sequence[str] = ()
) -> DetectionList:
    """A boxes file (see the module docstring), checked field by field; every error names the file,
    the image and the field.

    Image sizes are read from the files' headers, upright (their EXIF orientation applied), to check
    the boxes. With ``class_names`` (a training set's) the labels are those classes', matched by
    name: a label index means the file's own ``classes``, in its own order, when it lists them.
    """
    path = Path(annotation_file)
    content = _entry(read_json(path), f"{path} (a boxes file: {{'classes': [...], 'images': [...]}})")
    entries = _list(_field(content, "images", str(path)), "images", str(path))
    own = tuple(
        _text(name, "a class name", f"{path}, classes")
        for name in _list(content.get("classes", []), "classes", str(path))
    )
    if len(set(own)) != len(own):
        raise AnnotationError(f"{path}: classes must be distinct names, got {list(own)}")
    names = tuple(class_names) or own
    if not names:
        raise AnnotationError(f"{path}: no 'classes' listed")
    index_names = own or names  # what a label given as a number indexes
    labels_of = {name: label for label, name in enumerate(names, start=1)}
    items = []
    for number, entry in enumerate(entries):
        where = f"{path}, image {number}"
        entry = _entry(entry, where)
        file = _text(_field(entry, "file", where), "file", where)
        where = f"{path}, image {number} ({file})"
        boxes = _list(_field(entry, "boxes", where), "boxes", where)
        labels = _list(_field(entry, "labels", where), "labels", where)
        if len(boxes) != len(labels):
            raise AnnotationError(f"{where}: {len(boxes)} boxes but {len(labels)} labels")
        image_path = Path(image_dir) / file
        with open_image(image_path) as image:
            width, height = upright_size(image)
        annotations = []
        for box_number, (box, label) in enumerate(zip(boxes, labels)):
            if isinstance(label, int) and not isinstance(label, bool):
                if not 0 <= label < len(index_names):
                    raise AnnotationError(f"{where}: label {label} is not an index of the {len(index_names)} classes")
                label = index_names[label]
            if not isinstance(label, str) or label not in labels_of:
                raise AnnotationError(f"{where}: unknown class {_shown(label)} in labels; classes are {list(names)}")
            corners = _numbers(box, f"box {box_number} [x1, y1, x2, y2]", where)
            checked = _checked_box(corners, width, height, where)
            if checked[2] > checked[0] and checked[3] > checked[1]:
                area = (checked[2] - checked[0]) * (checked[3] - checked[1])
                annotations.append((checked, labels_of[label], area, False))
        items.append(_image_boxes(image_path, number, width, height, annotations))
    if not items:
        raise AnnotationError(f"{path} lists no images")
    return DetectionList(items, names, tuple(range(1, len(names) + 1)), path)


def matched_by_name(detections: DetectionList, class_names: Sequence[str]) -> DetectionList:
    """``detections`` with their labels renumbered to ``class_names`` (a training set's), matched
    by name; a file with other classes is refused, naming the difference."""
    if tuple(class_names) == detections.class_names:
        return detections
    missing = [name for name in class_names if name not in detections.class_names]
    extra = [name for name in detections.class_names if name not in class_names]
    if missing or extra or len(set(detections.class_names)) != len(detections.class_names):
        raise AnnotationError(
            f"{detections.source} has other classes than the training set: {extra[:5]} are not among the training "
            f"classes, {missing[:5]} are missing (classes are matched by name)"
        )
    new_label = np.array([0, *(list(class_names).index(name) + 1 for name in detections.class_names)])
    images = [dataclasses.replace(image, labels=new_label[image.labels]) for image in detections.images]
    category_of = dict(zip(detections.class_names, detections.category_ids))
    category_ids = tuple(category_of[name] for name in class_names)
    return DetectionList(images, tuple(class_names), category_ids, detections.source)


def _checked_box(box: list[float], width: int, height: int, where: str) -> list[float]:
    """The box clipped to its image; one reversed, or beyond the image by more than the tolerance, is an error."""
    x1, y1, x2, y2 = box
    shown = [round(value, 2) for value in box]
    if x2 < x1 or y2 < y1:
        raise AnnotationError(f"{where}: box {shown} (x1, y1, x2, y2) is reversed (x2 < x1 or y2 < y1)")
    tolerance = OVERHANG_TOLERANCE
    if x1 < -tolerance or y1 < -tolerance or x2 > width + tolerance or y2 > height + tolerance:
        raise AnnotationError(
            f"{where}: box {shown} (x1, y1, x2, y2) lies outside the {width}x{height} image (upright, as it is shown)"
        )
    return [min(max(x1, 0.0), width), min(max(y1, 0.0), height), min(max(x2, 0.0), width), min(max(y2, 0.0), height)]


def _image_boxes(
    path: Path, image_id: int, width: int, height: int, annotations: list[tuple[list[float], int, float, bool]]
) -> ImageBoxes:
    return ImageBoxes(
        path,
        image_id,
        width,
        height,
        np.array([box for box, _, _, _ in annotations], dtype=np.float32).reshape(-1, 4),
        np.array([label for _, label, _, _ in annotations], dtype=np.int64),
        np.array([area for _, _, area, _ in annotations], dtype=np.float64),
        np.array([crowd for _, _, _, crowd in annotations], dtype=bool),
    )


def find_detections(
    kind: str, annotation_file: str | os.PathLike, image_dir: str | os.PathLike, class_names: Sequence[str] = ()
) -> DetectionList:
    """A split's annotations: ``kind`` 'coco', 'boxes', or 'auto' (COCO when the file has categories);
    with ``class_names`` (a training set's) labelled as those classes, matched by name."""
    if kind == "auto":
        content = read_json(Path(annotation_file))
        kind = "coco" if isinstance(content, dict) and "categories" in content else "boxes"
    if kind == "coco":
        found = read_coco(annotation_file, image_dir)
        return matched_by_name(found, class_names) if class_names else found
    if kind == "boxes":
        return read_boxes_file(annotation_file, image_dir, class_names)
    raise UsageError(f"unknown detection data kind {kind!r}; expected 'coco', 'boxes' or 'auto'")


def to_model_input(rgb: torch.Tensor, channel_order: str = "BGR") -> torch.Tensor:
    """A (3, H, W) uint8 RGB image as a detector takes it: float in [0, 1], its channels in the
    model's ``channel_order`` (BGR for the published v1 weights, RGB for v2's)."""
    return (rgb.flip(0) if check_channel_order(channel_order) == "BGR" else rgb).float().div_(255)


class DetectionTrainTransform:
    """ml-cvnets' SSD training augmentation with torchvision's transforms: SSD's random IoU crop,
    photometric distortion, horizontal flip, resize to ``size`` (``interpolation``, no antialiasing,
    as the model's own resize); boxes that lose their centre or all area are dropped. The images come
    out in ``channel_order``, the model's."""

    def __init__(
        self,
        size: int = 320,
        random_crop: bool = True,
        photometric: bool = True,
        horizontal_flip: bool = True,
        channel_order: str = "BGR",
        interpolation: str = "bilinear",
    ) -> None:
        from torchvision.transforms import InterpolationMode, v2  # torchvision takes 2 s to import: only when used

        check_interpolation(interpolation)
        steps: list[v2.Transform] = [v2.RandomIoUCrop(), v2.SanitizeBoundingBoxes()] if random_crop else []
        if photometric:
            steps.append(v2.RandomPhotometricDistort(p=0.5))
        if horizontal_flip:
            steps.append(v2.RandomHorizontalFlip(p=0.5))
        mode = InterpolationMode(interpolation)
        steps += [v2.Resize((size, size), mode, antialias=False), v2.SanitizeBoundingBoxes(min_size=1.0)]
        self.transform = v2.Compose(steps)
        self.channel_order = channel_order

    def __call__(
        self, rgb: torch.Tensor, boxes: np.ndarray, labels: np.ndarray, seed: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The augmented image (in the model's channel order, [0, 1]), boxes and labels; ``seed`` makes the draws (the
        global random state is left as it was)."""
        from torchvision import tv_tensors

        target = {
            "boxes": tv_tensors.BoundingBoxes(torch.from_numpy(boxes), format="XYXY", canvas_size=rgb.shape[-2:]),
            "labels": torch.from_numpy(labels),
        }
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            image, target = self.transform(tv_tensors.Image(rgb), target)
        return (
            to_model_input(image.as_subclass(torch.Tensor), self.channel_order),
            target["boxes"].as_subclass(torch.Tensor),
            target["labels"],
        )


def resize_for_model(image: torch.Tensor, size: int, interpolation: str = "bilinear") -> torch.Tensor:
    """Resize a (3, H, W) float image in [0, 1] to ``size`` x ``size`` exactly as the model's own
    transform does, so batched evaluation gives the same detections as passing the image itself:
    ``interpolation`` is the weights' (``Preprocessing.interpolation``: bilinear as torchvision's SSD
    and ml-cvnets v0.1 for v1, bicubic as ml-cvnets v0.2+ for v2), half-pixel centres, no
    antialiasing; a bicubic result is clipped to [0, 1], as an image's pixels are."""
    resized = F.interpolate(
        image[None], size=(size, size), mode=check_interpolation(interpolation), align_corners=False
    )[0]
    return resized.clamp_(0, 1) if interpolation == "bicubic" else resized


class DetectionSample(NamedTuple):
    """A resized image, its boxes (in the resized pixels) and labels, the image's id and original
    (H, W), and the files skipped (unreadable) to produce it."""

    image: torch.Tensor
    boxes: torch.Tensor
    labels: torch.Tensor
    image_id: int
    image_size: tuple[int, int]
    skipped: tuple[str, ...]


class DetectionBatch(NamedTuple):
    """A batch of :class:`DetectionSample`: images (B, 3, S, S), per-image boxes and labels,
    image ids (B,), original sizes (B, 2) as (H, W), and the skipped files. An image id of -1 is
    an unreadable image that was skipped in evaluation."""

    images: torch.Tensor
    boxes: list[torch.Tensor]
    labels: list[torch.Tensor]
    image_ids: torch.Tensor
    image_sizes: torch.Tensor
    skipped: tuple[str, ...]


def collate_detections(samples: list[DetectionSample]) -> DetectionBatch:
    """Stack the images of one batch (all of one size); boxes and labels stay per image."""
    return DetectionBatch(
        torch.stack([sample.image for sample in samples]),
        [sample.boxes for sample in samples],
        [sample.labels for sample in samples],
        torch.tensor([sample.image_id for sample in samples]),
        torch.tensor([sample.image_size for sample in samples]),
        tuple(reason for sample in samples for reason in sample.skipped),
    )


class DetectionDataset(Dataset):
    """Reads the images of a :class:`DetectionList`, resized to ``size`` with their boxes.

    Training items are the :class:`SampleRequest` of a sampler (their seed drives the
    augmentation of :class:`DetectionTrainTransform`); evaluation items are indices, resized only.
    An unreadable image raises an error naming it, or with ``skip_bad_images`` is replaced by the
    next readable one in training and by a blank image with id -1 in evaluation. An image whose
    size differs from its annotation's raises an error naming both. Evaluation images come in
    ``channel_order`` and are resized with ``interpolation`` (the model's; the training transform
    has its own).
    """

    def __init__(
        self,
        detections: DetectionList,
        size: int = 320,
        train_transform: DetectionTrainTransform | None = None,
        skip_bad_images: bool = False,
        channel_order: str = "BGR",
        interpolation: str = "bilinear",
    ) -> None:
        self.detections = detections
        self.channel_order = channel_order
        self.interpolation = interpolation
        self.size = size
        self.train_transform = train_transform
        self.skip_bad_images = skip_bad_images

    def __len__(self) -> int:
        return len(self.detections.images)

    def __getitem__(self, request: int | SampleRequest) -> DetectionSample:
        index = request.index if isinstance(request, SampleRequest) else int(request)
        images = self.detections.images
        skipped: list[str] = []
        attempts = len(images) if self.train_transform is not None else 1
        for offset in range(attempts):
            annotation = images[(index + offset) % len(images)]
            try:
                return self._load(annotation, request, tuple(skipped))
            except ImageReadError as error:
                if not self.skip_bad_images:
                    raise
                skipped.append(str(error))
        if self.train_transform is not None:
            raise ImageReadError(f"no readable image among the {len(images)} of the data set")
        blank = torch.zeros(3, self.size, self.size)
        empty = torch.zeros(0, 4)
        return DetectionSample(
            blank, empty, torch.zeros(0, dtype=torch.int64), -1, (self.size, self.size), tuple(skipped)
        )

    def _load(self, annotation: ImageBoxes, request: int | SampleRequest, skipped: tuple[str, ...]) -> DetectionSample:
        rgb = torch.from_numpy(read_image(annotation.path).copy()).permute(2, 0, 1)  # a writable copy
        height, width = rgb.shape[-2:]
        if (width, height) != (annotation.width, annotation.height):
            turned = ""
            if (height, width) == (annotation.width, annotation.height):
                turned = (
                    ", its size before its EXIF orientation turns it by 90 degrees: sizes and boxes are read in "
                    "the upright frame, as the image is shown (docs/robustness.md)"
                )
            raise AnnotationError(
                f"{annotation.path} is {width}x{height} (upright) but {self.detections.source} says "
                f"{annotation.width}x{annotation.height}{turned}"
            )
        boxes, labels = annotation.training_boxes()
        original = (int(height), int(width))
        if self.train_transform is not None:
            if not isinstance(request, SampleRequest):
                raise TypeError("a training data set is indexed by the SampleRequests of a VariableBatchSampler")
            image, box_tensor, label_tensor = self.train_transform(rgb, boxes, labels, request.seed)
            return DetectionSample(image, box_tensor.float(), label_tensor, annotation.image_id, original, skipped)
        scale = torch.tensor([self.size / width, self.size / height] * 2)
        image = resize_for_model(to_model_input(rgb, self.channel_order), self.size, self.interpolation)
        return DetectionSample(
            image, torch.from_numpy(boxes) * scale, torch.from_numpy(labels), annotation.image_id, original, skipped
        )
