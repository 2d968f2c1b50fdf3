"""Data: image reading, transforms, datasets and samplers."""

from .datasets import ImageDataset, ImageList, find_images, read_annotation, scan_folders
from .image import ImageReadError, read_image
from .sampler import BatchShape, SampleRequest, VariableBatchSampler, variable_batch_shapes
from .transforms import EvalTransform, Preprocessing, TrainTransform

__all__ = [
    "BatchShape",
    "EvalTransform",
    "ImageDataset",
    "ImageList",
    "ImageReadError",
    "Preprocessing",
    "SampleRequest",
    "TrainTransform",
    "VariableBatchSampler",
    "find_images",
    "read_annotation",
    "read_image",
    "scan_folders",
    "variable_batch_shapes",
]
