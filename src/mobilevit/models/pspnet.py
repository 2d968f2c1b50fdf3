"""PSPNet semantic segmentation on a MobileViT backbone (ml-cvnets' ``pspnet`` head, v1 or v2).

The pyramid pools the last stage's map to 1x1, 2x2, 3x3 and 6x6, reduces each to a quarter of its
channels (floored to a multiple of 16) with a 1x1 conv + BN + ReLU, resizes them back (bilinear,
``align_corners=True``), concatenates them with the map and fuses all with a 3x3 conv + BN + ReLU to
512 channels; then ``Dropout2d`` and a 1x1 classifier with a bias. torchvision has no PSP module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UsageError
from .deeplabv3 import DeepLabV3, dense_backbone, published_align_corners
from .mobilevit import ConvNormAct, Stage


class PyramidPool(nn.Module):
    """``nn.AdaptiveAvgPool2d(size)`` as two averaging matrices, (size, H) and (size, W), built from
    the input's height and width: the same windows (from ``floor(i * H / size)`` to
    ``ceil((i + 1) * H / size)``) and values, but exported to ONNX with free height and width,
    where torch's exporter refuses an adaptive pool whose input size it cannot see."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.output_size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = _averaging_matrix(self.output_size, x.shape[-2], x)
        columns = _averaging_matrix(self.output_size, x.shape[-1], x)
        # (s, H) @ (B, C, H, W) @ (W, s) -> (B, C, s, s)
        return rows @ x @ columns.transpose(0, 1)


def _averaging_matrix(size: int, length: int, like: torch.Tensor) -> torch.Tensor:
    """The (size, length) matrix whose row i averages adaptive pooling's window i."""
    index = torch.arange(size, device=like.device).unsqueeze(1)
    starts = torch.div(index * length, size, rounding_mode="floor")
    ends = torch.div((index + 1) * length + size - 1, size, rounding_mode="floor")
    positions = torch.arange(length, device=like.device).unsqueeze(0)
    window = ((positions >= starts) & (positions < ends)).to(like.dtype)
    return window / window.sum(dim=1, keepdim=True)


class PSPNetHead(nn.Module):
    """Pyramid pooling, fusion, ``Dropout2d`` and a 1x1 classifier (keys ``pyramid``, ``fusion``,
    ``classifier``)."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        pool_sizes: Sequence[int] = (1, 2, 3, 6),
        channels: int = 512,
        classifier_dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if num_classes < 1:
            raise UsageError(f"num_classes must be a positive integer, got {num_classes}")
        reduced = in_channels // len(pool_sizes) // 16 * 16
        if reduced < 1:
            raise UsageError(f"PSPNet needs at least {16 * len(pool_sizes)} input channels, got {in_channels}")
        self.pyramid = nn.ModuleList(
            nn.Sequential(PyramidPool(size), ConvNormAct(in_channels, reduced, 1, act_layer=nn.ReLU))
            for size in pool_sizes
        )
        self.fusion = ConvNormAct(in_channels + reduced * len(pool_sizes), channels, 3, act_layer=nn.ReLU)
        self.dropout = nn.Dropout2d(classifier_dropout)
        self.classifier = nn.Conv2d(channels, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        # (B, C, h, w) and each level (B, r, s, s) -> (B, r, h, w), concatenated: (B, C + 4r, h, w)
        levels = [F.interpolate(level(x), size=size, mode="bilinear", align_corners=True) for level in self.pyramid]
        return self.classifier(self.dropout(self.fusion(torch.cat([x, *levels], dim=1))))

    def settings(self) -> dict[str, Any]:
        """What shapes no tensor of the head: the pyramid's pooled sizes."""
        return {"pool_sizes": [level[0].output_size for level in self.pyramid]}


class PSPNet(DeepLabV3):
    """A MobileViT PSPNet: :class:`DeepLabV3`'s interface (``forward``, ``forward_low_res``,
    ``predict``, ``fuse``, ``preprocessing``, ``class_names``) with a :class:`PSPNetHead`."""

    def _make_head(self, in_channels: int, num_classes: int, **head_options: Any) -> nn.Module:
        return PSPNetHead(in_channels, num_classes, **head_options)


def build_pspnet(
    arch: str | Sequence[Stage | Sequence] = "v2_100",
    num_classes: int = 21,
    output_stride: int = 16,
    pool_sizes: Sequence[int] = (1, 2, 3, 6),
    channels: int = 512,
    classifier_dropout: float = 0.1,
    aux_head: bool = False,
    align_corners: bool | None = None,
    **backbone_options: Any,
) -> PSPNet:
    """Build a PSPNet-MobileViT with ml-cvnets' published head (512 channels, Dropout2d 0.1; output
    stride 16 for VOC, 8 for ADE20k); ``backbone_options`` go to the backbone, which computes
    channels-last unless told otherwise. ``aux_head=True`` adds the training-only auxiliary head
    (see :class:`DeepLabV3`); ``align_corners`` None: the published models' upsampling of the logits
    (True on v2, False on v1: :func:`~mobilevit.models.deeplabv3.published_align_corners`)."""
    backbone = dense_backbone(arch, output_stride, aux_head, backbone_options)
    return PSPNet(
        backbone,
        num_classes,
        aux_head=aux_head,
        align_corners=published_align_corners(arch) if align_corners is None else align_corners,
        pool_sizes=tuple(pool_sizes),
        channels=channels,
        classifier_dropout=classifier_dropout,
    )
