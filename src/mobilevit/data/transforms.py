"""Image transforms. The evaluation transform is built from a zoo record's preprocessing, so
prediction and testing cannot disagree."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..zoo import Preprocessing


def resize_short_edge(image: torch.Tensor, size: int, interpolation: str = "bilinear") -> torch.Tensor:
    """Resize a (C, H, W) uint8 image so its short edge is ``size``, keeping the aspect ratio.

    Bilinear with half-pixel centres and no antialiasing, as OpenCV's ``INTER_LINEAR`` (the
    resize of the pipeline the official weights were evaluated with); rounded back to uint8.
    """
    height, width = image.shape[-2:]
    scale = size / min(height, width)
    new_size = (max(1, round(height * scale)), max(1, round(width * scale)))
    if new_size == (height, width):
        return image
    resized = F.interpolate(image[None].float(), size=new_size, mode=interpolation, align_corners=False)
    return resized[0].round_().clamp_(0, 255).to(torch.uint8)


def center_crop(image: torch.Tensor, size: int) -> torch.Tensor:
    """Crop the central ``size`` x ``size`` window of a (C, H, W) image (padding is not done)."""
    height, width = image.shape[-2:]
    if height < size or width < size:
        raise ValueError(f"cannot centre-crop {size}x{size} from a {height}x{width} image")
    top, left = (height - size) // 2, (width - size) // 2
    return image[..., top:top + size, left:left + size]


def normalize(image: torch.Tensor, preprocessing: Preprocessing) -> torch.Tensor:
    """(C, H, W) uint8 RGB -> float tensor in the channel order and scale the weights expect."""
    if preprocessing.channel_order == "BGR":
        image = image.flip(0)
    mean = torch.tensor(preprocessing.mean).view(3, 1, 1)
    std = torch.tensor(preprocessing.std).view(3, 1, 1)
    return (image.float() - mean) / std


class EvalTransform:
    """RGB uint8 (H, W, 3) array -> the (3, crop, crop) float tensor the model expects:
    resize the short edge, centre-crop, reorder channels, scale."""

    def __init__(self, preprocessing: Preprocessing) -> None:
        self.preprocessing = preprocessing

    def __call__(self, rgb: np.ndarray) -> torch.Tensor:
        image = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)
        image = resize_short_edge(image, self.preprocessing.resize_short, self.preprocessing.interpolation)
        image = center_crop(image, self.preprocessing.crop_size)
        return normalize(image, self.preprocessing)
