"""Semantic segmentation data: image / mask pairs in three layouts, their joint transforms, loaders.

Layouts (``data.kind``):

- ``'voc'``: PASCAL VOC 2012 as released, under ``data.root`` (the ``VOC2012`` folder):
  ``ImageSets/Segmentation/<split>.txt`` lists ids, ``JPEGImages/<id>.jpg`` the images,
  ``SegmentationClass/<id>.png`` the palette PNG masks.
- ``'voc_aug'``: the SBD-augmented list files of the published recipe: ``<root>/list/train_aug.txt``
  (``data.train_annotation``) of ``JPEGImages/x.jpg SegmentationClassAug/x.png`` lines.
- ``'pairs'``: custom data, ``<root>/images/<split>/<name>.<ext>`` with ``<root>/masks/<split>/<name>.png``.
- ``'ade20k'``: ADE20k (SceneParsing, ``ADEChallengeData2016``) as released: ``<root>/images/<split>/*.jpg``
  with ``<root>/annotations/<split>/*.png`` (splits ``training``, ``validation``), whose labels 1-150
  are read as the classes 0-149 and 0 ("other") as 255, not scored (ml-cvnets' and mmsegmentation's reading).

A mask is a single-channel or palette PNG of class indices (the palette is only for viewing);
255 marks pixels that are ignored (VOC's object boundaries and void). Masks are resized with
nearest neighbour only, so no value is ever invented.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image, ImageOps
from torch.utils.data import Dataset

from ..errors import UsageError
from .datasets import image_files, read_lines
from .image import (
    EXIF_ORIENTATION,
    TRANSPOSING_ORIENTATIONS,
    ImageReadError,
    check_resized_size,
    open_image,
    read_image,
)
from .sampler import SampleRequest
from .transforms import EvalTransform, Preprocessing, normalize, short_edge_size

# The PASCAL VOC classes in their label order (0 is the background; 255 marks void pixels).
VOC_CLASSES = (
    "background",
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)

# ADE20k's 150 classes (SceneParsing), in the order of the labels 1-150 of its masks (0, "other",
# is not scored): the outputs 0-149 of ml-cvnets' ADE20k segmenters.
ADE20K_CLASSES = (
    "wall",
    "building",
    "sky",
    "floor",
    "tree",
    "ceiling",
    "road",
    "bed",
    "windowpane",
    "grass",
    "cabinet",
    "sidewalk",
    "person",
    "earth",
    "door",
    "table",
    "mountain",
    "plant",
    "curtain",
    "chair",
    "car",
    "water",
    "painting",
    "sofa",
    "shelf",
    "house",
    "sea",
    "mirror",
    "rug",
    "field",
    "armchair",
    "seat",
    "fence",
    "desk",
    "rock",
    "wardrobe",
    "lamp",
    "bathtub",
    "railing",
    "cushion",
    "base",
    "box",
    "column",
    "signboard",
    "chest of drawers",
    "counter",
    "sand",
    "sink",
    "skyscraper",
    "fireplace",
    "refrigerator",
    "grandstand",
    "path",
    "stairs",
    "runway",
    "case",
    "pool table",
    "pillow",
    "screen door",
    "stairway",
    "river",
    "bridge",
    "bookcase",
    "blind",
    "coffee table",
    "toilet",
    "flower",
    "book",
    "hill",
    "bench",
    "countertop",
    "stove",
    "palm",
    "kitchen island",
    "computer",
    "swivel chair",
    "boat",
    "bar",
    "arcade machine",
    "hovel",
    "bus",
    "towel",
    "light",
    "truck",
    "tower",
    "chandelier",
    "awning",
    "streetlight",
    "booth",
    "television receiver",
    "airplane",
    "dirt track",
    "apparel",
    "pole",
    "land",
    "bannister",
    "escalator",
    "ottoman",
    "bottle",
    "buffet",
    "poster",
    "stage",
    "van",
    "ship",
    "fountain",
    "conveyer belt",
    "canopy",
    "washer",
    "plaything",
    "swimming pool",
    "stool",
    "barrel",
    "basket",
    "waterfall",
    "tent",
    "bag",
    "minibike",
    "cradle",
    "oven",
    "ball",
    "food",
    "step",
    "tank",
    "trade name",
    "microwave",
    "pot",
    "animal",
    "bicycle",
    "lake",
    "dishwasher",
    "screen",
    "blanket",
    "sculpture",
    "hood",
    "sconce",
    "vase",
    "traffic light",
    "tray",
    "ashcan",
    "fan",
    "pier",
    "crt screen",
    "plate",
    "monitor",
    "bulletin board",
    "shower",
    "radiator",
    "glass",
    "clock",
    "flag",
)
IGNORE_INDEX = 255
SEGMENTATION_KINDS = ("voc", "voc_aug", "pairs", "ade20k")


class MaskError(UsageError):
    """A mask that does not fit its image or holds a value that is neither a class nor 255."""


@dataclass(frozen=True)
class MaskList:
    """Image files with their mask files; ``reduce_zero_label``: the masks' 0 is ignored (255) and
    their other values are the classes plus one (ADE20k's)."""

    samples: list[tuple[Path, Path]]
    reduce_zero_label: bool = False


def voc_palette(num_colors: int = 256) -> list[int]:
    """PASCAL VOC's colour map as a flat [r, g, b, ...] list (class 0 black, 255 cream), for palette PNGs."""
    palette = []
    for index in range(num_colors):
        red = green = blue = 0
        value = index
        for shift in range(7, -1, -1):
            red |= (value & 1) << shift
            green |= ((value >> 1) & 1) << shift
            blue |= ((value >> 2) & 1) << shift
            value >>= 3
        palette += [red, green, blue]
    return palette


def _checked(samples: list[tuple[Path, Path]], source: Path) -> MaskList:
    if not samples:
        raise UsageError(f"{source} lists no images")
    for image, mask in samples:
        if not image.is_file():
            raise ImageReadError(f"image not found: {image} (listed in {source})")
        if not mask.is_file():
            raise MaskError(f"mask not found: {mask} (the mask of {image})")
    return MaskList(samples)


def read_voc(root: str | os.PathLike, split: str) -> MaskList:
    """PASCAL VOC 2012's split ``split`` (``train``, ``val``, ``trainval``) under ``root`` (VOC2012)."""
    root = Path(root)
    split_file = root / "ImageSets" / "Segmentation" / f"{split}.txt"
    if not split_file.is_file():
        raise FileNotFoundError(f"VOC split file not found: {split_file} (expected data.root to be the VOC2012 folder)")
    ids = [line.strip() for line in read_lines(split_file, "VOC split file") if line.strip()]
    samples = [(root / "JPEGImages" / f"{name}.jpg", root / "SegmentationClass" / f"{name}.png") for name in ids]
    return _checked(samples, split_file)


def read_pair_list(list_file: str | os.PathLike, root: str | os.PathLike) -> MaskList:
    """The pairs of a list file, one ``image mask`` pair of paths relative to ``root`` per line
    (``JPEGImages/x.jpg SegmentationClassAug/x.png``, the SBD-augmented ``list/train_aug.txt``)."""
    list_file, root = Path(list_file), Path(root)
    samples = []
    for number, line in enumerate(read_lines(list_file, "list file"), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise UsageError(f"{list_file}, line {number}: expected 'image_path mask_path', got {line!r}")
        samples.append((root / parts[0].lstrip("/"), root / parts[1].lstrip("/")))
    return _checked(samples, list_file)


def scan_pairs(root: str | os.PathLike, split: str) -> MaskList:
    """The images of ``<root>/images/<split>`` with the masks of the same name in ``<root>/masks/<split>``."""
    image_dir, mask_dir = Path(root) / "images" / split, Path(root) / "masks" / split
    if not image_dir.is_dir():
        raise FileNotFoundError(f"image folder not found: {image_dir} (expected <root>/images/<split>)")
    images = sorted(image_files(image_dir))
    samples = [(path, (mask_dir / path.relative_to(image_dir)).with_suffix(".png")) for path in images]
    return _checked(samples, image_dir)


def read_ade20k(root: str | os.PathLike, split: str) -> MaskList:
    """ADE20k's split ``split`` (``training``, ``validation``) under ``root`` (``ADEChallengeData2016``)."""
    image_dir, mask_dir = Path(root) / "images" / split, Path(root) / "annotations" / split
    if not image_dir.is_dir():
        raise FileNotFoundError(
            f"image folder not found: {image_dir} (expected data.root to be the ADEChallengeData2016 folder, "
            "and the split training or validation)"
        )
    images = sorted(image_files(image_dir))
    samples = [(path, (mask_dir / path.relative_to(image_dir)).with_suffix(".png")) for path in images]
    return dataclasses.replace(_checked(samples, image_dir), reduce_zero_label=True)


def find_pairs(kind: str, root: str | os.PathLike, split: str, list_file: str) -> MaskList:
    """The pairs of one split in layout ``kind`` (see the module docstring)."""
    if not Path(root).is_dir():
        raise FileNotFoundError(f"data root not found: {root}")
    if kind == "voc":
        return read_voc(root, split)
    if kind == "voc_aug":
        return read_pair_list(Path(root) / list_file, root)
    if kind == "pairs":
        return scan_pairs(root, split)
    if kind == "ade20k":
        return read_ade20k(root, split)
    raise UsageError(
        f"data.kind must be one of {', '.join(map(repr, SEGMENTATION_KINDS))} for segmentation, got {kind!r}"
    )


# The image modes a mask may have: palette, 8-bit, 16-bit and 32-bit integer single-channel images.
MASK_MODES = ("P", "L", "I;16", "I;16L", "I;16B", "I;16N", "I")
# Masks mark ignored pixels with 255, so class indices run from 0 to 254 at most.
MAX_SEGMENTATION_CLASSES = IGNORE_INDEX


def check_num_classes(num_classes: int) -> None:
    """Refuse a class count whose indices would reach 255, the mask value of ignored pixels."""
    if not 1 <= num_classes <= MAX_SEGMENTATION_CLASSES:
        raise MaskError(
            f"segmentation masks hold class indices 0-{MAX_SEGMENTATION_CLASSES - 1} and {IGNORE_INDEX} for ignored "
            f"pixels, so at most {MAX_SEGMENTATION_CLASSES} classes: got {num_classes} (model.num_classes)"
        )


def read_mask(path: str | os.PathLike, num_classes: int, reduce_zero_label: bool = False) -> np.ndarray:
    """An (H, W) uint8 array of class indices (255: ignored) from a single-channel or palette image,
    in the upright frame: the mask's own EXIF orientation, if it has one, is applied, as to images.

    Values are read in the file's own integer range (16-bit and 32-bit masks are not wrapped to 8
    bits); a value that is neither in 0 .. ``num_classes - 1`` nor 255 (a negative one included)
    is a :class:`MaskError` naming the file and the value.
    """
    check_num_classes(num_classes)
    with open_image(path) as image:
        mode = image.mode
        mask = np.asarray(ImageOps.exif_transpose(image)) if mode in MASK_MODES else None
    if mask is None:
        raise MaskError(f"{path} is a {mode} image: a mask must be a single-channel or palette PNG of class indices")
    if reduce_zero_label:  # ADE20k's: 0 is "other", the classes start at 1
        mask = np.where(mask == 0, IGNORE_INDEX, mask.astype(np.int64) - 1)
    values = np.unique(mask).astype(np.int64)
    bad = values[((values < 0) | (values >= num_classes)) & (values != IGNORE_INDEX)]
    if len(bad):
        raise MaskError(
            f"{path} holds the value(s) {bad[:5].tolist()}, neither a class (0-{num_classes - 1}) nor "
            f"{IGNORE_INDEX} (ignored)"
        )
    return mask.astype(np.uint8)


def orientation(path: str | os.PathLike) -> int:
    """The EXIF orientation of an image file (1, upright, when it has none)."""
    with open_image(path) as image:
        return int(image.getexif().get(EXIF_ORIENTATION, 1))


def read_pair(
    image_path: Path, mask_path: Path, num_classes: int, reduce_zero_label: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """An image (H, W, 3) RGB and its mask (H, W), both upright (their EXIF orientations applied),
    checked to be of one size."""
    image, mask = read_image(image_path), read_mask(mask_path, num_classes, reduce_zero_label)
    if image.shape[:2] != mask.shape:
        turned = ""
        if orientation(image_path) in TRANSPOSING_ORIENTATIONS and image.shape[:2] == mask.shape[::-1]:
            turned = (
                "; the image's EXIF orientation turns it by 90 degrees: a mask is read in the upright frame, "
                "as the image is shown (docs/robustness.md)"
            )
        raise MaskError(
            f"{mask_path} is {mask.shape[1]}x{mask.shape[0]} but its image {image_path} is "
            f"{image.shape[1]}x{image.shape[0]} (width x height){turned}"
        )
    return image, mask


class SegmentationTrainTransform:
    """The published recipe's joint augmentation of an image and its mask: resize the short side to
    a size drawn uniformly from ``short_side_range`` (the image with ``preprocessing.interpolation``
    and no antialiasing: bilinear as OpenCV's ``INTER_LINEAR`` in v1's recipe, bicubic in ml-cvnets'
    v2 yamls; the mask with nearest neighbour), a random crop of
    the requested size (padded with 0 in the image and 255 in the mask where the image is smaller),
    a random horizontal flip; then the channel order and scale of ``preprocessing``."""

    def __init__(self, preprocessing: Preprocessing, short_side_range: tuple[int, int], horizontal_flip: bool) -> None:
        if not 0 < short_side_range[0] <= short_side_range[1]:
            raise UsageError(f"bad short side range {short_side_range}: expected 0 < low <= high")
        self.preprocessing = preprocessing
        self.short_side_range = short_side_range
        self.horizontal_flip = horizontal_flip

    def __call__(
        self,
        rgb: np.ndarray,
        mask: np.ndarray,
        size: tuple[int, int],
        generator: torch.Generator,
        name: str = "the image",
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The augmented image and mask; an image whose resize would be too large (see
        :mod:`mobilevit.data.image`) raises :class:`ImageReadError` naming ``name``, before any memory is spent."""
        low, high = self.short_side_range
        short_side = low + int(torch.randint(high - low + 1, (1,), generator=generator))
        new_height, new_width = short_edge_size(*rgb.shape[:2], short_side)
        check_resized_size(new_width, new_height, name)
        from torchvision import tv_tensors  # torchvision takes 2 s to import: only when used
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms.v2 import functional as TF

        image = tv_tensors.Image(torch.from_numpy(np.array(rgb)).permute(2, 0, 1))
        target = tv_tensors.Mask(torch.from_numpy(np.array(mask)))
        image = TF.resize(image, [short_side], InterpolationMode(self.preprocessing.interpolation), antialias=False)
        target = TF.resize(target, [short_side])  # a Mask is resized with nearest neighbour
        height, width = size
        pad_bottom, pad_right = max(height - image.shape[-2], 0), max(width - image.shape[-1], 0)
        if pad_bottom or pad_right:
            image = TF.pad(image, [0, 0, pad_right, pad_bottom], fill=0)
            target = TF.pad(target, [0, 0, pad_right, pad_bottom], fill=IGNORE_INDEX)
        top_draw, left_draw, flip_draw = torch.rand(3, generator=generator).tolist()
        top = int(top_draw * (image.shape[-2] - height + 1))
        left = int(left_draw * (image.shape[-1] - width + 1))
        image, target = TF.crop(image, top, left, height, width), TF.crop(target, top, left, height, width)
        if self.horizontal_flip and flip_draw < 0.5:
            image, target = TF.horizontal_flip(image), TF.horizontal_flip(target)
        return normalize(image.as_subclass(torch.Tensor), self.preprocessing), target.as_subclass(torch.Tensor).long()


class SegmentationSample(NamedTuple):
    """A transformed image, its mask (class indices, 255 ignored) and the files skipped for it."""

    image: torch.Tensor
    mask: torch.Tensor
    skipped: tuple[str, ...]


class SegmentationBatch(NamedTuple):
    """Images (B, 3, H, W) and their masks: a (B, H, W) tensor in training, a list of (h, w) masks
    at each image's own size in evaluation; and the unreadable files skipped."""

    images: torch.Tensor
    masks: torch.Tensor | list[torch.Tensor]
    skipped: tuple[str, ...]


class SegmentationDataset(Dataset):
    """Reads and transforms the pairs of a :class:`MaskList`.

    Training items are :class:`SampleRequest` (index, crop size, augmentation seed) read with a
    :class:`SegmentationTrainTransform`; evaluation items are indices read with a
    :class:`EvalTransform` (the whole image resized, to crop_size squared or, with
    ``preprocessing.size_multiple``, at its aspect ratio), the mask left at the image's own size. An unreadable image raises :class:`ImageReadError` naming
    it, or with ``skip_bad_images`` is replaced by the next readable pair in training and becomes
    an all-ignored mask in evaluation, reported in ``skipped``. Mask errors always raise.
    """

    def __init__(
        self,
        pairs: MaskList,
        transform: SegmentationTrainTransform | EvalTransform,
        num_classes: int,
        skip_bad_images: bool = False,
    ) -> None:
        check_num_classes(num_classes)
        self.samples = pairs.samples
        self.reduce_zero_label = pairs.reduce_zero_label
        self.transform = transform
        self.num_classes = num_classes
        self.skip_bad_images = skip_bad_images

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, request: int | SampleRequest) -> SegmentationSample:
        if isinstance(self.transform, EvalTransform):
            image_path, mask_path = self.samples[int(request)]
            try:
                rgb, mask = read_pair(image_path, mask_path, self.num_classes, self.reduce_zero_label)
            except ImageReadError as error:
                if not self.skip_bad_images:
                    raise
                size = self.transform.preprocessing.crop_size
                return SegmentationSample(torch.zeros(3, size, size), torch.full((1, 1), IGNORE_INDEX), (str(error),))
            return SegmentationSample(self.transform(rgb), torch.from_numpy(mask).long(), ())
        if not isinstance(request, SampleRequest):
            raise TypeError("a training data set is indexed by the SampleRequests of a VariableBatchSampler")
        skipped: list[str] = []
        for offset in range(len(self.samples)):
            image_path, mask_path = self.samples[(request.index + offset) % len(self.samples)]
            try:
                rgb, mask = read_pair(image_path, mask_path, self.num_classes, self.reduce_zero_label)
            except ImageReadError as error:
                if not self.skip_bad_images:
                    raise
                skipped.append(str(error))
                continue
            generator = torch.Generator().manual_seed(request.seed)
            try:
                image, target = self.transform(rgb, mask, (request.height, request.width), generator, str(image_path))
            except ImageReadError as error:
                if not self.skip_bad_images:
                    raise
                skipped.append(str(error))
                continue
            return SegmentationSample(image, target, tuple(skipped))
        raise ImageReadError(f"no readable image among the {len(self.samples)} of the data set")


def collate_train(samples: list[SegmentationSample]) -> SegmentationBatch:
    """Stack the samples of a training batch (all of one crop size)."""
    return SegmentationBatch(
        torch.stack([sample.image for sample in samples]),
        torch.stack([sample.mask for sample in samples]),
        tuple(reason for sample in samples for reason in sample.skipped),
    )


def collate_eval(samples: list[SegmentationSample]) -> SegmentationBatch:
    """Stack the images of an evaluation batch; the masks stay a list, each at its image's size."""
    return SegmentationBatch(
        torch.stack([sample.image for sample in samples]),
        [sample.mask for sample in samples],
        tuple(reason for sample in samples for reason in sample.skipped),
    )


def save_palette_mask(mask: np.ndarray, path: str | os.PathLike) -> None:
    """Write an (H, W) class mask as a palette PNG in VOC's colours (readable back as class indices)."""
    image = Image.fromarray(mask.astype(np.uint8))
    image.putpalette(voc_palette())  # makes it a palette image
    image.save(path)
