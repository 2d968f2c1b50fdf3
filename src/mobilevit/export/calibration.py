"""Calibration images for int8 quantization, prepared exactly as the model's preprocessing says."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import torch

from ..config import CONFIG_SUFFIXES, load_config
from ..data.datasets import IMAGE_EXTENSIONS
from ..data.image import ImageReadError, read_image
from ..data.transforms import EvalTransform, Preprocessing
from ..errors import UsageError
from ..tasks import get_task

CALIBRATION_IMAGES = 300


def calibration_images(
    source: str | os.PathLike, preprocessing: Preprocessing, count: int = CALIBRATION_IMAGES
) -> torch.Tensor:
    """``count`` images (or all, if fewer) as one (N, 3, crop, crop) batch.

    ``source`` is a folder of images (searched recursively) or a config file, whose training split
    is used. The images are spread evenly over the sorted list, so every class folder contributes.
    Unreadable images are an error naming each of them: a quantized model is only as good as its
    calibration set. A preprocessing that keeps each image's size (``size_multiple``, a v2
    segmenter's evaluation) calibrates on each whole image resized to crop x crop instead: one batch.
    """
    if preprocessing.size_multiple:
        preprocessing = dataclasses.replace(preprocessing, keep_aspect_ratio=False, size_multiple=0)
    paths = _image_paths(Path(source))
    spread = np.linspace(0, len(paths) - 1, min(count, len(paths))).round().astype(int)
    chosen = [paths[index] for index in np.unique(spread)]
    transform = EvalTransform(preprocessing)
    images, unreadable = [], []
    for path in chosen:
        try:
            images.append(transform(read_image(path)))
        except ImageReadError as error:
            unreadable.append(str(error))
    if unreadable:
        raise UsageError(
            f"{len(unreadable)} of {len(chosen)} calibration images could not be read: " + "; ".join(unreadable)
        )
    return torch.stack(images)


def _image_paths(source: Path) -> list[Path]:
    if source.is_dir():
        paths = sorted(path for path in source.rglob("*") if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file())
        if not paths:
            raise UsageError(f"no calibration images ({', '.join(IMAGE_EXTENSIONS)}) found under {source}")
        return paths
    if source.is_file() and source.suffix in CONFIG_SUFFIXES:
        config = load_config(source)
        return get_task(config.task).training_images(config)
    raise FileNotFoundError(f"calibration images not found: {source} (expected a folder of images or a config file)")
