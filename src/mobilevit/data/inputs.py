"""Images as inference takes them from a user: paths, PIL images or arrays, in one channel order."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageOps

from ..errors import UsageError
from .image import read_image, to_rgb_array
from .transforms import EvalTransform, Preprocessing, check_channel_order

ImageInput = str | os.PathLike | np.ndarray | Image.Image


def to_rgb(image: ImageInput, channel_order: str = "BGR") -> np.ndarray:
    """An (H, W, 3) uint8 RGB array from a path, a PIL image or an array in ``channel_order``."""
    check_channel_order(channel_order)
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
        raise UsageError(f"expected a uint8 image array (values 0-255), got dtype {array.dtype}")
    if array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 1):
        return np.repeat(array.reshape(array.shape[0], array.shape[1], 1), 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise UsageError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image array, got shape {array.shape}")
    color = array[..., :3]  # a fourth channel is alpha
    return np.ascontiguousarray(color[..., ::-1] if channel_order == "BGR" else color)


def describe_input(image: ImageInput, index: int, count: int) -> str:
    """How errors name an image: its path, else its place in the list and its kind."""
    if isinstance(image, (str, os.PathLike)):
        return str(image)
    place = f"image {index + 1} of {count}" if count > 1 else "the image"
    return f"{place} ({'a PIL image' if isinstance(image, Image.Image) else 'an array'})"


def prepare_batch(
    images: Sequence[ImageInput], preprocessing: Preprocessing, channel_order: str = "BGR"
) -> torch.Tensor:
    """Read and transform images into one (B, 3, crop, crop) batch as the test pipeline does."""
    if not images:
        raise UsageError("no images given: expected a path, an array, a PIL image or a list of them")
    transform = EvalTransform(preprocessing)
    return torch.stack(
        [
            transform(to_rgb(image, channel_order), describe_input(image, index, len(images)))
            for index, image in enumerate(images)
        ]
    )
