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
from torchvision import tv_tensors
from torchvision.transforms import v2

from .image import ImageReadError, read_image
from .sampler import SampleRequest

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
            raise ValueError(f"{self.source}: no image has a box to train on")
        return DetectionList(kept, self.class_names, self.category_ids, self.source)


def read_json(path: Path) -> Any:
    """A JSON file's content; a missing or unreadable file raises an error naming it."""
    if not path.is_file():
        raise FileNotFoundError(f"annotation file not found: {path}")
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read annotation file {path}: {error}") from None


def read_coco(annotation_file: str | os.PathLike, image_dir: str | os.PathLike) -> DetectionList:
    """A COCO ``instances_*.json`` and its image folder.

    Crowd annotations are kept as ignore regions for the evaluation; boxes without area are
    dropped. A box outside its image, an unknown category or image id, or a malformed entry raises
    an error naming the file and the annotation.
    """
    path = Path(annotation_file)
    content = read_json(path)
    try:
        categories = sorted(int(category["id"]) for category in content["categories"])
        names = {int(category["id"]): str(category["name"]) for category in content["categories"]}
        images = {int(image["id"]): image for image in content["images"]}
        annotations = content.get("annotations", [])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path} is not a COCO annotation file (categories, images with ids): {error!r}") from None
    labels = {category: label for label, category in enumerate(categories, start=1)}
    per_image: dict[int, list[tuple[list[float], int, float, bool]]] = {image_id: [] for image_id in images}
    for annotation in annotations:
        where = f"{path}, annotation {annotation.get('id', '?')}"
        try:
            image_id, category = int(annotation["image_id"]), int(annotation["category_id"])
            x, y, width, height = (float(value) for value in annotation["bbox"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{where}: expected image_id, category_id and bbox [x, y, w, h]: {error!r}") from None
        if image_id not in images:
            raise ValueError(f"{where}: unknown image id {image_id}")
        if category not in labels:
            raise ValueError(f"{where}: unknown category id {category}; the file's categories are {categories}")
        if width <= 0 or height <= 0:
            continue  # degenerate: nothing to learn or match
        image = images[image_id]
        box = _checked_box(
            [x, y, x + width, y + height],
            int(image["width"]),
            int(image["height"]),
            f"{where} (image {image.get('file_name')})",
        )
        area = float(annotation.get("area", width * height))
        per_image[image_id].append((box, labels[category], area, bool(annotation.get("iscrowd", 0))))
    items = [
        _image_boxes(
            Path(image_dir) / str(image["file_name"]),
            image_id,
            int(image["width"]),
            int(image["height"]),
            per_image[image_id],
        )
        for image_id, image in sorted(images.items())
    ]
    if not items:
        raise ValueError(f"{path} lists no images")
    return DetectionList(items, tuple(names[category] for category in categories), tuple(categories), path)


def read_boxes_file(
    annotation_file: str | os.PathLike, image_dir: str | os.PathLike, class_names: Sequence[str] = ()
) -> DetectionList:
    """A boxes file (see the module docstring). Image sizes are read from the files' headers, to
    check the boxes; ``class_names`` (a training set's) take the place of the file's ``classes``."""
    from .image import open_image

    path = Path(annotation_file)
    content = read_json(path)
    if not isinstance(content, dict) or not isinstance(content.get("images"), list):
        raise ValueError(f"{path}: expected {{'classes': [...], 'images': [{{'file', 'boxes', 'labels'}}, ...]}}")
    names = tuple(class_names) or tuple(str(name) for name in content.get("classes", ()))
    if not names:
        raise ValueError(f"{path}: no 'classes' listed")
    labels_of = {name: label for label, name in enumerate(names, start=1)}
    items = []
    for number, entry in enumerate(content["images"]):
        where = f"{path}, image {number}"
        try:
            file, boxes, labels = entry["file"], entry["boxes"], entry["labels"]
        except (KeyError, TypeError):
            raise ValueError(f"{where}: expected an object with 'file', 'boxes' and 'labels'") from None
        if len(boxes) != len(labels):
            raise ValueError(f"{where} ({file}): {len(boxes)} boxes but {len(labels)} labels")
        image_path = Path(image_dir) / file
        with open_image(image_path) as image:
            width, height = image.size
        annotations = []
        for box, label in zip(boxes, labels):
            if isinstance(label, int) and not isinstance(label, bool):
                if not 0 <= label < len(names):
                    raise ValueError(f"{where} ({file}): label {label} is not an index of the {len(names)} classes")
                label = names[label]
            if label not in labels_of:
                raise ValueError(f"{where} ({file}): unknown class {label!r}; classes are {list(names)}")
            if not isinstance(box, list) or len(box) != 4:
                raise ValueError(f"{where} ({file}): a box must be [x1, y1, x2, y2], got {box!r}")
            checked = _checked_box([float(value) for value in box], width, height, f"{where} ({file})")
            if checked[2] > checked[0] and checked[3] > checked[1]:
                area = (checked[2] - checked[0]) * (checked[3] - checked[1])
                annotations.append((checked, labels_of[label], area, False))
        items.append(_image_boxes(image_path, number, width, height, annotations))
    if not items:
        raise ValueError(f"{path} lists no images")
    return DetectionList(items, names, tuple(range(1, len(names) + 1)), path)


def _checked_box(box: list[float], width: int, height: int, where: str) -> list[float]:
    x1, y1, x2, y2 = box
    tolerance = OVERHANG_TOLERANCE
    if x1 < -tolerance or y1 < -tolerance or x2 > width + tolerance or y2 > height + tolerance or x2 < x1 or y2 < y1:
        raise ValueError(
            f"{where}: box {[round(value, 2) for value in box]} (x1, y1, x2, y2) lies outside the "
            f"{width}x{height} image or is reversed"
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
    """A split's annotations: ``kind`` 'coco', 'boxes', or 'auto' (COCO when the file has categories)."""
    if kind == "auto":
        content = read_json(Path(annotation_file))
        kind = "coco" if isinstance(content, dict) and "categories" in content else "boxes"
    if kind == "coco":
        found = read_coco(annotation_file, image_dir)
        if class_names and tuple(class_names) != found.class_names:
            raise ValueError(
                f"{annotation_file} has the classes {list(found.class_names)[:5]}..., not the "
                f"training set's {list(class_names)[:5]}..."
            )
        return found
    if kind == "boxes":
        return read_boxes_file(annotation_file, image_dir, class_names)
    raise ValueError(f"unknown detection data kind {kind!r}; expected 'coco', 'boxes' or 'auto'")


def to_model_input(rgb: torch.Tensor) -> torch.Tensor:
    """A (3, H, W) uint8 RGB image as the published weights take it: BGR, float in [0, 1]."""
    return rgb.flip(0).float().div_(255)


class DetectionTrainTransform:
    """ml-cvnets' SSD training augmentation with torchvision's transforms: SSD's random IoU crop,
    photometric distortion, horizontal flip, resize to ``size`` (bilinear, no antialiasing, as
    the model's own resize); boxes that lose their centre or all area are dropped."""

    def __init__(
        self, size: int = 320, random_crop: bool = True, photometric: bool = True, horizontal_flip: bool = True
    ) -> None:
        steps: list[v2.Transform] = [v2.RandomIoUCrop(), v2.SanitizeBoundingBoxes()] if random_crop else []
        if photometric:
            steps.append(v2.RandomPhotometricDistort(p=0.5))
        if horizontal_flip:
            steps.append(v2.RandomHorizontalFlip(p=0.5))
        steps += [v2.Resize((size, size), antialias=False), v2.SanitizeBoundingBoxes(min_size=1.0)]
        self.transform = v2.Compose(steps)

    def __call__(
        self, rgb: torch.Tensor, boxes: np.ndarray, labels: np.ndarray, seed: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The augmented image (BGR, [0, 1]), boxes and labels; ``seed`` makes the draws (the
        global random state is left as it was)."""
        target = {
            "boxes": tv_tensors.BoundingBoxes(torch.from_numpy(boxes), format="XYXY", canvas_size=rgb.shape[-2:]),
            "labels": torch.from_numpy(labels),
        }
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            image, target = self.transform(tv_tensors.Image(rgb), target)
        return (
            to_model_input(image.as_subclass(torch.Tensor)),
            target["boxes"].as_subclass(torch.Tensor),
            target["labels"],
        )


def resize_for_model(image: torch.Tensor, size: int) -> torch.Tensor:
    """Resize a (3, H, W) float image to ``size`` x ``size`` exactly as the model's own transform
    does (torchvision's SSD: bilinear, align_corners False), so batched evaluation gives the same
    detections as passing the image itself."""
    return F.interpolate(image[None], size=(size, size), mode="bilinear", align_corners=False)[0]


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
    size differs from its annotation's raises an error naming both.
    """

    def __init__(
        self,
        detections: DetectionList,
        size: int = 320,
        train_transform: DetectionTrainTransform | None = None,
        skip_bad_images: bool = False,
    ) -> None:
        self.detections = detections
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
            raise ValueError(
                f"{annotation.path} is {width}x{height} but {self.detections.source} says "
                f"{annotation.width}x{annotation.height}"
            )
        boxes, labels = annotation.training_boxes()
        original = (int(height), int(width))
        if self.train_transform is not None:
            if not isinstance(request, SampleRequest):
                raise TypeError("a training data set is indexed by the SampleRequests of a VariableBatchSampler")
            image, box_tensor, label_tensor = self.train_transform(rgb, boxes, labels, request.seed)
            return DetectionSample(image, box_tensor.float(), label_tensor, annotation.image_id, original, skipped)
        scale = torch.tensor([self.size / width, self.size / height] * 2)
        image = resize_for_model(to_model_input(rgb), self.size)
        return DetectionSample(
            image, torch.from_numpy(boxes) * scale, torch.from_numpy(labels), annotation.image_id, original, skipped
        )
