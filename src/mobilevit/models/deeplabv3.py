"""DeepLabv3 semantic segmentation on the MobileViT backbone (the published DeepLabv3-MobileViT).

The layers are those of ml-cvnets v0.1 and Hugging Face's ``MobileViTForSemanticSegmentation``:
the backbone at output stride 16 (or 8) without its final expansion, torchvision's ASPP (rates 6,
12, 18; 256 channels; ReLU), dropout, and a 1x1 classifier with a bias.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UsageError
from .backbone import build_backbone, is_v2_arch, resolve_arch
from .mobilevit import ConvNormAct, MobileViT, Stage

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
            raise UsageError(f"num_classes must be a positive integer, got {num_classes}")
        from torchvision.models.segmentation.deeplabv3 import ASPP  # torchvision takes 2 s to import: only when used

        self.aspp = ASPP(in_channels, atrous_rates, aspp_channels)
        self.aspp.project[3].p = aspp_dropout
        self.dropout = nn.Dropout2d(classifier_dropout)
        self.classifier = nn.Conv2d(aspp_channels, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.aspp(x)))

    def settings(self) -> dict[str, Any]:
        """What shapes no tensor of the head: the atrous rates (between the 1x1 and the pooling branch)."""
        return {"atrous_rates": [branch[0].dilation[0] for branch in self.aspp.convs[1:-1]]}


class AuxiliaryHead(nn.Sequential):
    """ml-cvnets' auxiliary segmentation head, for training only: on the next-to-last stage's map, a
    3x3 conv to ``max(channels // 4, 128)`` + BN + ReLU, ``Dropout2d`` and a 1x1 classifier with a
    bias (keys ``0``, ``2``: ml-cvnets' ``seg_head.aux_head.{0,2}``)."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.1) -> None:
        inner = max(in_channels // 4, 128)
        super().__init__(
            ConvNormAct(in_channels, inner, 3, act_layer=nn.ReLU),
            nn.Dropout2d(dropout),
            nn.Conv2d(inner, num_classes, 1),
        )


class SegmentationOutput(NamedTuple):
    """What a segmenter with an auxiliary head gives in training mode: the logits at the input's size
    and the auxiliary head's at the next-to-last stage's resolution."""

    logits: torch.Tensor
    aux_logits: torch.Tensor


class DeepLabV3(nn.Module):
    """A MobileViT DeepLabv3 segmenter.

    ``model(x)`` gives (B, num_classes, H, W) logits at the input's own size: the head's logits at
    1/output_stride, upsampled bilinearly with ``align_corners`` as the weights were trained: False
    for v1 (ml-cvnets v0.1, where the published v1 weights were trained; also Hugging Face's loss and
    post-processing convention), True for v2 (ml-cvnets v0.2 and later upsample with it in every
    segmentation head). ``forward_low_res(x)`` gives the logits before that upsampling,
    Hugging Face's ``logits`` (32x32 at 512x512), for losses computed at any resolution.
    ``preprocessing`` (how images are prepared for the weights; None: as for the official ones) and
    ``class_names`` (the outputs' names, in order; empty: unnamed) describe the weights: the zoo,
    configs and checkpoints set them, :func:`mobilevit.inference_model` reads them.

    ``aux_head=True`` adds ml-cvnets' :class:`AuxiliaryHead` on the next-to-last stage (which
    ``out_indices`` must then hold), for training only: in training mode ``model(x)`` then gives a
    :class:`SegmentationOutput`; in eval mode, the logits alone, as without it. Published parameter
    counts leave it out, and so do models built for inference (their loading drops its keys).
    """

    task = "segmentation"  # which :mod:`mobilevit.tasks` task serves this model

    def __init__(
        self,
        backbone: MobileViT,
        num_classes: int = 21,
        aux_head: bool = False,
        align_corners: bool = False,
        **head_options: Any,
    ) -> None:
        super().__init__()
        last = len(backbone.layers) - 1
        if backbone.conv_1x1_exp is not None or backbone.out_indices[-1] != last:
            raise UsageError(
                "DeepLabV3 reads the last stage's map before conv_1x1_exp: build the backbone "
                "with expand_output=False and the last stage last in out_indices"
            )
        maps = sorted(set(backbone.out_indices))  # the order of the backbone's maps
        if aux_head and last - 1 not in maps:
            raise UsageError(
                f"the auxiliary head reads stage {last - 1}: build the backbone with it in out_indices (got {maps})"
            )
        self.backbone = backbone
        self.num_classes = num_classes
        self.align_corners = align_corners  # of the logits' upsampling; a setting of the weights
        self.preprocessing: Preprocessing | None = None
        self.class_names: tuple[str, ...] = ()
        self.head = self._make_head(backbone.stage_channels[-1], num_classes, **head_options)
        self.aux_head = AuxiliaryHead(backbone.stage_channels[last - 1], num_classes) if aux_head else None
        self.aux_map = maps.index(last - 1) if aux_head else -1  # the auxiliary head's map among the backbone's

    def _make_head(self, in_channels: int, num_classes: int, **head_options: Any) -> nn.Module:
        """The head on the last stage's map (a subclass puts another in its place)."""
        return DeepLabV3Head(in_channels, num_classes, **head_options)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def forward_low_res(self, x: torch.Tensor) -> torch.Tensor:
        """Logits at 1/output_stride of the input: (B, num_classes, ceil(H/os), ceil(W/os))."""
        return self.head(self.backbone(x)[-1]).contiguous()

    def forward(self, x: torch.Tensor) -> torch.Tensor | SegmentationOutput:
        if self.aux_head is not None and self.training:
            maps = self.backbone(x)
            logits = upsample_logits(self.head(maps[-1]).contiguous(), x.shape[-2:], self.align_corners)
            return SegmentationOutput(logits, self.aux_head(maps[self.aux_map]).contiguous())
        return upsample_logits(self.forward_low_res(x), x.shape[-2:], self.align_corners)

    def fuse(self) -> DeepLabV3:
        """Fold the backbone's BatchNorms into its convolutions for inference (see :meth:`MobileViT.fuse`)."""
        if self.backbone.fuse().channels_last:
            self.head.to(memory_format=torch.channels_last)
        return self.eval()

    @torch.no_grad()
    def predict(self, x: torch.Tensor, size: Sequence[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Softmax scores (B, num_classes, h, w) and the class mask (B, h, w) at ``size`` (h, w),
        by default the input's; the low-resolution logits are upsampled bilinearly first (with the
        model's ``align_corners``)."""
        logits = upsample_logits(self.forward_low_res(x), x.shape[-2:] if size is None else size, self.align_corners)
        scores = logits.softmax(dim=1)
        return scores, scores.argmax(dim=1)


def upsample_logits(logits: torch.Tensor, size: Sequence[int], align_corners: bool = False) -> torch.Tensor:
    """Bilinear resize of (B, C, h, w) logits to ``size`` (H, W)."""
    return F.interpolate(logits, size=tuple(size), mode="bilinear", align_corners=align_corners)


def published_align_corners(arch: Any) -> bool:
    """How the published weights of ``arch``'s family upsample their logits: ``align_corners=True``
    for v2 (ml-cvnets v0.2+, ``BaseSegHead``), False for v1 (ml-cvnets v0.1's DeepLabv3)."""
    return is_v2_arch(arch)


def build_segmenter(
    arch: str | Sequence[Stage | Sequence] = "small",
    num_classes: int = 21,
    output_stride: int = 16,
    atrous_rates: Sequence[int] = (6, 12, 18),
    aspp_channels: int | None = None,
    aspp_dropout: float = 0.1,
    classifier_dropout: float = 0.1,
    aux_head: bool = False,
    align_corners: bool | None = None,
    **backbone_options: Any,
) -> DeepLabV3:
    """Build a DeepLabv3-MobileViT; the defaults are the published models'. ``backbone_options``
    go to :class:`MobileViT` (``drop_rate``, ``frozen_stages``, ``norm_eval`` ...); the backbone
    computes channels-last unless told otherwise, and the logits come out in the usual layout.
    ``aspp_channels`` None: the published models' (256 on v1, 512 on a v2 arch, as ml-cvnets).
    ``aux_head=True`` adds the training-only :class:`AuxiliaryHead`. ``align_corners`` None: the
    published models' upsampling of the logits (:func:`published_align_corners`)."""
    if aspp_channels is None:
        aspp_channels = 512 if is_v2_arch(arch) else 256
    backbone = dense_backbone(arch, output_stride, aux_head, backbone_options)
    return DeepLabV3(
        backbone,
        num_classes,
        aux_head=aux_head,
        align_corners=published_align_corners(arch) if align_corners is None else align_corners,
        atrous_rates=atrous_rates,
        aspp_channels=aspp_channels,
        aspp_dropout=aspp_dropout,
        classifier_dropout=classifier_dropout,
    )


def dense_backbone(arch: Any, output_stride: int, aux_head: bool, options: dict[str, Any]) -> MobileViT:
    """A segmenter's backbone: no final expansion, channels-last unless told otherwise, and with an
    auxiliary head the next-to-last stage's map among its outputs."""
    options = {"channels_last": True, **options}
    if aux_head:
        stages = len(resolve_arch(arch))
        indices = options.get("out_indices", (-1,))
        indices = (indices,) if isinstance(indices, int) else tuple(indices)
        if all(-stages <= index < stages for index in indices):  # else the backbone names the bad one
            options["out_indices"] = tuple(sorted({index % stages for index in (*indices, stages - 2)}))
    return build_backbone(arch, output_stride=output_stride, expand_output=False, **options)
