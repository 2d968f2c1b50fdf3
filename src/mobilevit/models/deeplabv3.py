"""DeepLabv3 semantic segmentation on the MobileViT backbone (the published DeepLabv3-MobileViT).

The layers are those of ml-cvnets v0.1 and Hugging Face's ``MobileViTForSemanticSegmentation``:
the backbone at output stride 16 (or 8) without its final expansion, torchvision's ASPP (rates 6,
12, 18; 256 channels; ReLU), dropout, and a 1x1 classifier with a bias.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from .backbone import build_backbone, is_v2_arch
from .mobilevit import MobileViT, Stage

if TYPE_CHECKING:  # a value set from outside: models import nothing else of ours
    from ..data.transforms import Preprocessing


class DeepLabV3Head(nn.Module):
    """ASPP, then ``Dropout2d`` and a 1x1 convolution to class logits (keys ``aspp``, ``classifier``).

    torchvision's ASPP has the published layers exactly; only its projection's dropout differs
    (``Dropout(0.5)``), so it is set to ``aspp_dropout`` (0.1 in ml-cvnets and Hugging Face).
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        atrous_rates: Sequence[int] = (6, 12, 18),
        aspp_channels: int = 256,
        aspp_dropout: float = 0.1,
        classifier_dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer, got {num_classes}")
        from torchvision.models.segmentation.deeplabv3 import ASPP  # torchvision takes 2 s to import: only when used

        self.aspp = ASPP(in_channels, atrous_rates, aspp_channels)
        self.aspp.project[3].p = aspp_dropout
        self.dropout = nn.Dropout2d(classifier_dropout)
        self.classifier = nn.Conv2d(aspp_channels, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.aspp(x)))


class DeepLabV3(nn.Module):
    """A MobileViT DeepLabv3 segmenter.

    ``model(x)`` gives (B, num_classes, H, W) logits at the input's own size: the head's logits at
    1/output_stride, upsampled bilinearly with ``align_corners=False`` (Hugging Face's loss and
    post-processing convention; at 512x512 and output stride 16 it equals ml-cvnets v0.1's x16
    upsampling inside the model). ``forward_low_res(x)`` gives the logits before that upsampling,
    Hugging Face's ``logits`` (32x32 at 512x512), for losses computed at any resolution.
    ``preprocessing`` (how images are prepared for the weights; None: as for the official ones) and
    ``class_names`` (the outputs' names, in order; empty: unnamed) describe the weights: the zoo,
    configs and checkpoints set them, :func:`mobilevit.inference_model` reads them.
    """

    task = "segmentation"  # which :mod:`mobilevit.tasks` task serves this model

    def __init__(self, backbone: MobileViT, num_classes: int = 21, **head_options: Any) -> None:
        super().__init__()
        if backbone.conv_1x1_exp is not None or backbone.out_indices[-1] != len(backbone.layers) - 1:
            raise ValueError(
                "DeepLabV3 reads the last stage's map before conv_1x1_exp: build the backbone "
                "with expand_output=False and the last stage last in out_indices"
            )
        self.backbone = backbone
        self.num_classes = num_classes
        self.preprocessing: Preprocessing | None = None
        self.class_names: tuple[str, ...] = ()
        self.head = self._make_head(backbone.stage_channels[-1], num_classes, **head_options)

    def _make_head(self, in_channels: int, num_classes: int, **head_options: Any) -> nn.Module:
        """The head on the last stage's map (a subclass puts another in its place)."""
        return DeepLabV3Head(in_channels, num_classes, **head_options)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def forward_low_res(self, x: torch.Tensor) -> torch.Tensor:
        """Logits at 1/output_stride of the input: (B, num_classes, ceil(H/os), ceil(W/os))."""
        return self.head(self.backbone(x)[-1]).contiguous()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upsample_logits(self.forward_low_res(x), x.shape[-2:])

    def fuse(self) -> DeepLabV3:
        """Fold the backbone's BatchNorms into its convolutions for inference (see :meth:`MobileViT.fuse`)."""
        if self.backbone.fuse().channels_last:
            self.head.to(memory_format=torch.channels_last)
        return self.eval()

    @torch.no_grad()
    def predict(self, x: torch.Tensor, size: Sequence[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Softmax scores (B, num_classes, h, w) and the class mask (B, h, w) at ``size`` (h, w),
        by default the input's; the low-resolution logits are upsampled bilinearly first."""
        logits = upsample_logits(self.forward_low_res(x), x.shape[-2:] if size is None else size)
        scores = logits.softmax(dim=1)
        return scores, scores.argmax(dim=1)


def upsample_logits(logits: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Bilinear resize (``align_corners=False``) of (B, C, h, w) logits to ``size`` (H, W)."""
    return F.interpolate(logits, size=tuple(size), mode="bilinear", align_corners=False)


def build_segmenter(
    arch: str | Sequence[Stage | Sequence] = "small",
    num_classes: int = 21,
    output_stride: int = 16,
    atrous_rates: Sequence[int] = (6, 12, 18),
    aspp_channels: int | None = None,
    aspp_dropout: float = 0.1,
    classifier_dropout: float = 0.1,
    **backbone_options: Any,
) -> DeepLabV3:
    """Build a DeepLabv3-MobileViT; the defaults are the published models'. ``backbone_options``
    go to :class:`MobileViT` (``drop_rate``, ``frozen_stages``, ``norm_eval`` ...); the backbone
    computes channels-last unless told otherwise, and the logits come out in the usual layout.
    ``aspp_channels`` None: the published models' (256 on v1, 512 on a v2 arch, as ml-cvnets)."""
    if aspp_channels is None:
        aspp_channels = 512 if is_v2_arch(arch) else 256
    backbone_options.setdefault("channels_last", True)
    backbone = build_backbone(arch, output_stride=output_stride, expand_output=False, **backbone_options)
    return DeepLabV3(
        backbone,
        num_classes,
        atrous_rates=atrous_rates,
        aspp_channels=aspp_channels,
        aspp_dropout=aspp_dropout,
        classifier_dropout=classifier_dropout,
    )
