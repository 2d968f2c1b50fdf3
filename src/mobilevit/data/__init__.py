"""Data: image reading, transforms, datasets and samplers."""

from .image import ImageReadError, read_image
from .transforms import EvalTransform

__all__ = ["EvalTransform", "ImageReadError", "read_image"]
