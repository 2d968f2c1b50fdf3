"""Image transforms and the :class:`Preprocessing` they follow. The evaluation transform is built
from a zoo record's (or a config's) preprocessing, so prediction and testing cannot disagree; the
training transform (random resized crop and flip, as the published weights were trained) ends in
the same channel order and scale."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from ..checks import FieldError, at_least, at_most, check_types, expected, image_side, one_of
from ..errors import UsageError
from .image import check_image_size, check_resized_size, open_image, to_rgb_array, upright_size


@dataclass(frozen=True)
class Preprocessing:
    """How images are turned into the tensor a set of weights expects.

    Resize the short edge to ``resize_short`` (``interpolation``), centre-crop ``crop_size``,
    order the channels as ``channel_order`` and map pixel values ``v`` to ``(v - mean) / std``.
    With ``keep_aspect_ratio=False`` the whole image is resized to ``crop_size`` x ``crop_size``
    instead, with no crop (the v1 dense weights' protocol). With ``size_multiple`` n > 0 (and
    ``keep_aspect_ratio``) the image is not cropped: its short side is resized to ``resize_short``,
    the long side to the same scale floored, then both sides are floored to a multiple of n,
    bilinearly with ``align_corners=True`` (ml-cvnets v0.2+'s evaluation of its v2 segmenters, n their
    output stride); each image keeps its own size, so such images are run one at a time.
    """

    resize_short: int = 288
    crop_size: int = 256
    interpolation: str = "bilinear"
    channel_order: str = "BGR"
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (255.0, 255.0, 255.0)
    keep_aspect_ratio: bool = True
    size_multiple: int = 0

    def __post_init__(self) -> None:
        check_types(self)
        at_least(self, "crop_size", 1)
        at_least(self, "resize_short", self.crop_size, f"crop_size ({self.crop_size})")
        image_side("resize_short", self.resize_short, MAX_RESIZE_SHORT)
        at_least(self, "size_multiple", 0)
        at_most(self, "size_multiple", self.resize_short, f"resize_short ({self.resize_short})")
        if self.size_multiple and not self.keep_aspect_ratio:
            raise FieldError(
                "size_multiple",
                f"is {self.size_multiple}, which keeps each image's aspect ratio, but keep_aspect_ratio is False: "
                "set keep_aspect_ratio=True, or size_multiple=0 to resize each whole image to crop_size squared",
            )
        one_of(self, "interpolation", INTERPOLATIONS)
        one_of(self, "channel_order", CHANNEL_ORDERS)
        if not all(value > 0 for value in self.std):
            raise expected("std", "three positive numbers", self.std)


# The resize modes of mobilevit.data.transforms.resize_short_edge (half-pixel centres, no antialiasing).
INTERPOLATIONS = ("bilinear", "bicubic")
CHANNEL_ORDERS = ("RGB", "BGR")


def check_interpolation(interpolation: str) -> str:
    """``interpolation`` if it is one of :data:`INTERPOLATIONS`, else a :class:`UsageError` naming it."""
    if interpolation not in INTERPOLATIONS:
        raise UsageError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}, got {interpolation!r:.80}")
    return interpolation


def check_channel_order(channel_order: str) -> str:
    """``channel_order`` if it is 'BGR' or 'RGB', else a :class:`UsageError` naming it."""
    if channel_order not in CHANNEL_ORDERS:
        raise UsageError(f"channel_order must be 'BGR' or 'RGB', got {channel_order!r:.80}")
    return channel_order


# Beyond this short edge every image would exceed mobilevit.data.image.MAX_RESIZED_PIXELS; no
# config may resize, crop or train on images of a larger side (201 MB as float32 RGB).
MAX_RESIZE_SHORT = 4096


def short_edge_size(height: int, width: int, size: int) -> tuple[int, int]:
    """(height, width) of a ``height`` x ``width`` image resized so its short edge is ``size``."""
    scale = size / min(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def aspect_size(height: int, width: int, size: int) -> tuple[int, int]:
    """(height, width) with the short side ``size`` and the long side scaled and floored, as ml-cvnets'
    ``Resize`` with an int size (the height is the short side of a square)."""
    if width < height:
        return int(size * height / width), size
    return size, int(size * width / height)


def floor_to_multiple(image: torch.Tensor, multiple: int) -> torch.Tensor:
    """A float (C, H, W) image with both sides floored to a multiple of ``multiple``, resized bilinearly
    with ``align_corners=True`` (ml-cvnets' evaluation of segmenters); unchanged when they are."""
    height, width = image.shape[-2:]
    size = (height // multiple * multiple, width // multiple * multiple)
    if size == (height, width):
        return image
    return F.interpolate(image[None], size=size, mode="bilinear", align_corners=True)[0]


def resize_short_edge(image: torch.Tensor, size: int, interpolation: str = "bilinear") -> torch.Tensor:
    """Resize a (C, H, W) uint8 image so its short edge is ``size``, keeping the aspect ratio.

    Bilinear with half-pixel centres and no antialiasing, as OpenCV's ``INTER_LINEAR`` (the
    resize of the pipeline the official weights were evaluated with); rounded back to uint8.
    """
    height, width = image.shape[-2:]
    return resize(image, short_edge_size(height, width, size), interpolation)


def resize(image: torch.Tensor, size: tuple[int, int], interpolation: str = "bilinear") -> torch.Tensor:
    """Resize a (C, H, W) uint8 image to ``size`` (height, width) as :func:`resize_short_edge` does."""
    if tuple(size) == tuple(image.shape[-2:]):
        return image
    resized = F.interpolate(image[None].float(), size=tuple(size), mode=interpolation, align_corners=False)
    return resized[0].round_().clamp_(0, 255).to(torch.uint8)


def center_crop(image: torch.Tensor, size: int) -> torch.Tensor:
    """Crop the central ``size`` x ``size`` window of a (C, H, W) image (padding is not done)."""
    height, width = image.shape[-2:]
    if height < size or width < size:
        raise UsageError(f"cannot centre-crop {size}x{size} from a {height}x{width} image")
    top, left = (height - size) // 2, (width - size) // 2
    return image[..., top : top + size, left : left + size]


def normalize(image: torch.Tensor, preprocessing: Preprocessing) -> torch.Tensor:
    """(C, H, W) uint8 RGB -> float tensor in the channel order and scale the weights expect."""
    if preprocessing.channel_order == "BGR":
        image = image.flip(0)
    mean = torch.tensor(preprocessing.mean).view(3, 1, 1)
    std = torch.tensor(preprocessing.std).view(3, 1, 1)
    return (image.float() - mean) / std


class EvalTransform:
    """RGB uint8 (H, W, 3) array -> the (3, crop, crop) float tensor the model expects:
    resize the short edge and centre-crop (or, without ``keep_aspect_ratio``, resize the whole
    image to crop x crop; or, with ``size_multiple``, keep the whole image at its aspect ratio and
    floor its sides, see :class:`Preprocessing`), reorder channels, scale.

    An image too thin, or one whose resize would be too large (see :mod:`mobilevit.data.image`),
    raises :class:`~mobilevit.data.image.ImageReadError` naming ``name``, before any memory is spent.
    """

    def __init__(self, preprocessing: Preprocessing) -> None:
        self.preprocessing = preprocessing

    def __call__(self, rgb: np.ndarray, name: str = "the image") -> torch.Tensor:
        height, width = rgb.shape[:2]
        check_image_size(width, height, name)
        new_height, new_width = short_edge_size(height, width, self.preprocessing.resize_short)
        check_resized_size(new_width, new_height, name)
        image = torch.from_numpy(np.array(rgb, order="C")).permute(2, 0, 1)  # a writable copy
        preprocessing = self.preprocessing
        if preprocessing.size_multiple:
            image = resize(image, aspect_size(height, width, preprocessing.resize_short), preprocessing.interpolation)
            return floor_to_multiple(normalize(image, preprocessing), preprocessing.size_multiple)
        if preprocessing.keep_aspect_ratio:
            image = resize_short_edge(image, preprocessing.resize_short, preprocessing.interpolation)
            image = center_crop(image, preprocessing.crop_size)
        else:
            image = resize(image, (preprocessing.crop_size, preprocessing.crop_size), preprocessing.interpolation)
        return normalize(image, preprocessing)


def random_resized_crop_box(
    width: int, height: int, scale: tuple[float, float], ratio: tuple[float, float], generator: torch.Generator
) -> tuple[int, int, int, int]:
    """(left, top, crop width, crop height) of a random crop of a ``width`` x ``height`` image.

    The crop covers a uniformly drawn fraction ``scale`` of the area, with an aspect ratio
    (width / height) drawn log-uniformly from ``ratio``; after ten draws that do not fit, the
    largest central crop within ``ratio``.
    """
    log_low, log_high = math.log(ratio[0]), math.log(ratio[1])
    for _ in range(10):
        area_draw, ratio_draw, left_draw, top_draw = torch.rand(4, generator=generator).tolist()
        area = width * height * (scale[0] + (scale[1] - scale[0]) * area_draw)
        aspect = math.exp(log_low + (log_high - log_low) * ratio_draw)
        crop_width, crop_height = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
        if 0 < crop_width <= width and 0 < crop_height <= height:
            left = int(left_draw * (width - crop_width + 1))
            top = int(top_draw * (height - crop_height + 1))
            return left, top, crop_width, crop_height
    crop_width, crop_height = width, height
    if width / height < ratio[0]:
        crop_height = round(width / ratio[0])
    elif width / height > ratio[1]:
        crop_width = round(height * ratio[1])
    return (width - crop_width) // 2, (height - crop_height) // 2, crop_width, crop_height


class TrainTransform:
    """Image file -> (3, height, width) float tensor: a random resized crop (bilinear), a random
    horizontal flip, then the channel order and scale of ``preprocessing``.

    JPEGs are decoded at the smallest scale (1/2, 1/4 or 1/8, the decoder's draft mode) that keeps
    the crop at least as large as the output, which makes the decoding of large photos cheap.
    """

    def __init__(
        self,
        preprocessing: Preprocessing,
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        horizontal_flip: bool = True,
    ) -> None:
        if not 0 < scale[0] <= scale[1] <= 1 or not 0 < ratio[0] <= ratio[1]:
            raise UsageError(f"bad random resized crop range: scale {scale}, ratio {ratio}")
        self.preprocessing = preprocessing
        self.scale = scale
        self.ratio = ratio
        self.horizontal_flip = horizontal_flip

    def __call__(self, path: str | os.PathLike, size: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
        out_height, out_width = size
        with open_image(path) as image:
            width, height = upright_size(image)
            left, top, crop_width, crop_height = random_resized_crop_box(
                width, height, self.scale, self.ratio, generator
            )
            if image.format == "JPEG":
                reduction = min(crop_width / out_width, crop_height / out_height)
                image.draft("RGB", (math.ceil(image.width / reduction), math.ceil(image.height / reduction)))
            image = ImageOps.exif_transpose(image)
            if image.mode != "RGB":
                image = Image.fromarray(to_rgb_array(image))
            x_factor, y_factor = image.width / width, image.height / height  # < 1 after a draft decode
            box = (left * x_factor, top * y_factor, (left + crop_width) * x_factor, (top + crop_height) * y_factor)
            crop = image.resize((out_width, out_height), Image.Resampling.BILINEAR, box=box)
        if self.horizontal_flip and torch.rand(1, generator=generator).item() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        tensor = torch.from_numpy(np.array(crop)).permute(2, 0, 1)
        return normalize(tensor, self.preprocessing)
