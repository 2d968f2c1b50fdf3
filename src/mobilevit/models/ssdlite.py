"""SSDLite object detection on the MobileViT backbone, laid out as ml-cvnets' published weights.

torchvision's :class:`~torchvision.models.detection.SSD` does the rest exactly as ml-cvnets: the
anchors (``DefaultBoxGenerator`` with scales ``linspace(0.1, 1.05, 7)``), the matching
(``SSDMatcher(0.5)``), the box encoding (``BoxCoder((10, 10, 5, 5))``), the loss (hard-negative
mining 3:1, smooth-L1 plus cross-entropy over the positives) and the post-processing. Our own
modules are only the extra layers and the head, whose structure the published weights fix.

The model takes BGR images in [0, 1] (the published weights' input; no mean/std normalisation),
resizes them to ``image_size`` and works over ``num_classes`` contiguous labels, 0 being the
background (81 for COCO, not torchvision's 91 with gaps).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torchvision.models.detection._utils import BoxCoder, SSDMatcher
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.ssd import SSD
from torchvision.models.detection.transform import resize_boxes
from torchvision.ops import box_iou

from .backbone import is_v2_arch, resolve_arch
from .mobilevit import ConvNormAct, MobileViT, Stage, check_image_batch
from .mobilevit_v2 import MobileViTV2, MobileViTV2Stage

if TYPE_CHECKING:  # a value set from outside: models import nothing else of ours
    from ..data.transforms import Preprocessing

# Output channels of the six levels (ml-cvnets' ``proj_channels``): the first two are 1x1
# projections of the backbone's stride-16 and stride-32 maps, the other four the extra layers'.
LEVEL_CHANNELS = (512, 256, 256, 128, 128, 64)
# Per level, the anchors' aspect ratios besides 1 (each also transposed): 6, 6, 6, 6, 6, 4 anchors.
ASPECT_RATIOS = ((2, 3),) * 5 + ((2,),)
ANCHOR_SCALES = tuple(np.linspace(0.1, 1.05, len(ASPECT_RATIOS) + 1).tolist())
BOX_CODING = 4  # (dx, dy, dw, dh) per anchor, ahead of the class logits in the fused output


class SeparableConv(nn.Module):
    """3x3 depthwise conv + BN (no activation), then a 1x1 conv (keys ``depthwise``, ``pointwise``).

    ml-cvnets' extra layers (pointwise with BN and ReLU) and head predictors (pointwise with bias,
    nothing after it) share this shape.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, predictor: bool = False) -> None:
        super().__init__()
        self.depthwise = ConvNormAct(in_channels, in_channels, 3, stride, groups=in_channels, act_layer=None)
        if predictor:
            self.pointwise = ConvNormAct(in_channels, out_channels, 1, norm_layer=None, act_layer=None, bias=True)
        else:
            self.pointwise = ConvNormAct(in_channels, out_channels, 1, act_layer=nn.ReLU)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class SSDLiteBackbone(MobileViT):
    """The MobileViT backbone with SSDLite's extra layers: returns the six maps the head reads.

    Levels: stage 4's output (stride 16), stage 5's before ``conv_1x1_exp`` (stride 32, the
    backbone builds no expansion), three stride-2 separable extra layers (64, 128, 256) and a
    global average pool with a 1x1 conv + ReLU. The extra layers (``extra_layers.0-3``) are
    torchvision's ``_extra_block`` in spirit but not in structure, hence ours.
    """

    def __init__(
        self,
        arch: str | Sequence[Stage | Sequence] = "small",
        level_channels: Sequence[int] = LEVEL_CHANNELS,
        **backbone_options: Any,
    ) -> None:
        if len(resolve_arch(arch)) != 5:
            raise ValueError(
                f"SSDLite reads stages 4 and 5 of the backbone: the arch needs five stages, got "
                f"{len(resolve_arch(arch))}"
            )
        super().__init__(arch, out_indices=(3, 4), expand_output=False, **backbone_options)
        if len(level_channels) != len(ASPECT_RATIOS):
            raise ValueError(f"level_channels needs {len(ASPECT_RATIOS)} entries, got {list(level_channels)}")
        channels = [self.stage_channels[3], self.stage_channels[4], *level_channels[2:]]
        self.extra_layers = nn.ModuleList(
            SeparableConv(channels[index], channels[index + 1], stride=2) for index in range(1, 4)
        )
        self.extra_layers.append(
            nn.Sequential(
                nn.AdaptiveAvgPool2d(1), ConvNormAct(channels[4], channels[5], 1, norm_layer=None, act_layer=nn.ReLU)
            )
        )
        self.out_channels = channels  # what the head reads, per level
        self.level_channels = tuple(level_channels)
        _init_xavier(self.extra_layers)

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:  # type: ignore[override]
        levels = list(super().forward(x))
        for layer in self.extra_layers:
            levels.append(layer(levels[-1]))
        return OrderedDict((str(index), level) for index, level in enumerate(levels))


class SSDLiteBackboneV2(SSDLiteBackbone, MobileViTV2):
    """:class:`SSDLiteBackbone` on a MobileViT v2 (``v2_050`` ...): the same levels and extra layers."""


class SSDLiteHeadLevel(nn.Module):
    """One level of ml-cvnets' SSD head: an optional 1x1 projection (conv + BN + ReLU) and one fused
    predictor of ``anchors x (4 + num_classes)`` channels (separable, or a plain 1x1 on a 1x1 map)."""

    def __init__(self, in_channels: int, channels: int, num_anchors: int, num_classes: int, separable: bool) -> None:
        super().__init__()
        self.projection = ConvNormAct(in_channels, channels, 1, act_layer=nn.ReLU) if in_channels != channels else None
        out_channels = num_anchors * (BOX_CODING + num_classes)
        self.predictor = (
            SeparableConv(channels, out_channels, predictor=True)
            if separable
            else ConvNormAct(channels, out_channels, 1, norm_layer=None, act_layer=None, bias=True)
        )
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Box regression (B, H*W*A, 4) and class logits (B, H*W*A, num_classes) of one map."""
        if self.projection is not None:
            x = self.projection(x)
        # (B, A*(4+C), H, W) -> (B, H, W, A*(4+C)) -> (B, H*W*A, 4+C): the anchor order of the priors
        out = self.predictor(x).permute(0, 2, 3, 1).reshape(x.shape[0], -1, BOX_CODING + self.num_classes)
        return out[..., :BOX_CODING], out[..., BOX_CODING:]


class SSDLiteHead(nn.Module):
    """ml-cvnets' SSD head over the six levels (keys ``levels.i``).

    Not torchvision's ``SSDLiteHead``: that has separate box and class branches with ReLU6 and no
    projections, so the published weights would not fit it.
    """

    def __init__(
        self, in_channels: Sequence[int], level_channels: Sequence[int], num_anchors: Sequence[int], num_classes: int
    ) -> None:
        super().__init__()
        last = len(in_channels) - 1
        self.levels = nn.ModuleList(
            SSDLiteHeadLevel(
                in_channels[index], level_channels[index], num_anchors[index], num_classes, separable=index < last
            )
            for index in range(len(in_channels))
        )
        _init_xavier(self)

    def forward(self, features: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        outputs = [level(feature) for level, feature in zip(self.levels, features)]
        return {
            "bbox_regression": torch.cat([boxes for boxes, _ in outputs], dim=1),
            "cls_logits": torch.cat([logits for _, logits in outputs], dim=1),
        }


def _init_xavier(module: nn.Module) -> None:
    """Xavier-uniform convolutions with zero biases, as ml-cvnets initialises its SSD layers."""
    for conv in module.modules():
        if isinstance(conv, nn.Conv2d):
            nn.init.xavier_uniform_(conv.weight)
            if conv.bias is not None:
                nn.init.zeros_(conv.bias)


class SSDLite(SSD):
    """SSDLite-MobileViT (keys ``backbone.*`` as the classifier's, minus ``conv_1x1_exp``, plus
    ``backbone.extra_layers.*`` and ``head.levels.*``).

    Two ways in. A list of (3, H, W) BGR tensors in [0, 1] of any sizes is torchvision's SSD:
    in training mode, with ``targets`` (per image ``boxes`` (N, 4) xyxy in pixels and ``labels``
    (N,) in 1..num_classes-1), the losses ``bbox_regression`` and ``classification``; in eval mode
    a list of ``{'boxes', 'scores', 'labels'}``, boxes in each image's pixels. A (B, 3, size, size)
    batch already resized gives the network's raw outputs ``{'bbox_regression' (B, anchors, 4),
    'cls_logits' (B, anchors, num_classes)}`` in either mode: what the training loop, exports and
    :class:`SSDBoxCoding` (matching, loss and decoding apart from the network) work with.
    ``preprocessing`` (how images are prepared for the weights; None: as for the official ones) and
    ``class_names`` (the labels' names, the background first; empty: unnamed) describe the
    weights: the zoo, configs and checkpoints set them, :func:`mobilevit.inference_model` reads them.
    """

    task = "detection"  # which :mod:`mobilevit.tasks` task serves this model

    def __init__(
        self,
        backbone: SSDLiteBackbone,
        num_classes: int = 81,
        image_size: int = 320,
        score_thresh: float = 0.01,
        nms_thresh: float = 0.5,
        topk_candidates: int = 400,
        detections_per_img: int = 200,
    ) -> None:
        if num_classes < 2:
            raise ValueError(f"num_classes counts the background too, so it must be at least 2, got {num_classes}")
        anchors = anchor_generator()
        head = SSDLiteHead(
            backbone.out_channels, backbone.level_channels, anchors.num_anchors_per_location(), num_classes
        )
        # Mean 0 and std 1: the published weights take [0, 1] pixels without normalisation.
        super().__init__(
            backbone,
            anchors,
            (image_size, image_size),
            num_classes,
            image_mean=[0.0, 0.0, 0.0],
            image_std=[1.0, 1.0, 1.0],
            head=head,
            score_thresh=score_thresh,
            nms_thresh=nms_thresh,
            detections_per_img=detections_per_img,
            topk_candidates=topk_candidates,
        )
        self.num_classes = num_classes
        self.image_size = image_size
        self.preprocessing: Preprocessing | None = None
        self.class_names: tuple[str, ...] = ()

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def forward(self, images, targets=None):  # type: ignore[no-untyped-def,override]
        if isinstance(images, torch.Tensor) and targets is None:
            check_image_batch(images, 3)
            if not torch.jit.is_tracing() and tuple(images.shape[-2:]) != (self.image_size, self.image_size):
                raise ValueError(
                    f"a batch tensor must be resized to {self.image_size}x{self.image_size} already, got "
                    f"{tuple(images.shape)}; pass a list of images to have them resized"
                )
            return self.head(list(self.backbone(images).values()))
        return super().forward(list(images), targets)

    def box_coding(self) -> SSDBoxCoding:
        """This model's anchors, matching, loss and decoding, apart from the network."""
        return SSDBoxCoding(
            self.num_classes,
            self.image_size,
            self.score_thresh,
            self.nms_thresh,
            self.topk_candidates,
            self.detections_per_img,
            self.backbone.arch,
        )

    def fuse(self) -> SSDLite:
        """Fold every BatchNorm into its convolution for inference (see :meth:`MobileViT.fuse`)."""
        self.eval()
        for module in self.head.modules():
            if isinstance(module, ConvNormAct):
                module.fuse()
        if self.backbone.fuse().channels_last:
            self.head.to(memory_format=torch.channels_last)
        return self


def anchor_generator() -> DefaultBoxGenerator:
    """torchvision's SSD default boxes with ml-cvnets' scales and aspect ratios (3,232 at 320)."""
    return DefaultBoxGenerator([list(ratios) for ratios in ASPECT_RATIOS], scales=list(ANCHOR_SCALES))


def grid_sizes(image_size: int, arch: str | Sequence[Stage | Sequence] = "small") -> list[tuple[int, int]]:
    """The (H, W) of the six maps at an ``image_size`` square input: each stride-2 3x3 conv
    (padding 1) gives ceil(n / 2), from the stem through the stages of ``arch`` and the extra layers;
    a MobileViT v2 block resizes an odd map up to the next even size and keeps it (5x5 at 160: 6x6)."""
    size = (image_size + 1) // 2  # the stem
    sizes = []
    for stage in resolve_arch(arch):
        size = (size + stage.stride - 1) // stage.stride
        if isinstance(stage, MobileViTV2Stage):
            size += size % 2
        sizes.append((size, size))
    levels = sizes[3:5]
    for _ in range(3):
        size = (size + 1) // 2
        levels.append((size, size))
    return [*levels, (1, 1)]


class SSDBoxCoding:
    """The anchors of :class:`SSDLite` at one input size, with torchvision SSD's own matching,
    loss and decoding over them, for raw outputs computed elsewhere (a training loop, ONNX).

    ``loss(outputs, boxes, labels)``: the SSD losses of a batch whose boxes are in the pixels of
    the resized input; ``decode(outputs, image_sizes)``: per-image ``{'boxes', 'scores',
    'labels'}`` in the pixels of images of ``image_sizes`` (H, W), what the model gives.
    """

    def __init__(
        self,
        num_classes: int,
        image_size: int = 320,
        score_thresh: float = 0.01,
        nms_thresh: float = 0.5,
        topk_candidates: int = 400,
        detections_per_img: int = 200,
        arch: str | Sequence[Stage | Sequence] = "small",
        iou_thresh: float = 0.5,
        positive_fraction: float = 0.25,
    ) -> None:
        self.num_classes = num_classes
        self.image_size = image_size
        # The attributes SSD's compute_loss and postprocess_detections read, set as SSD sets them.
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.topk_candidates = topk_candidates
        self.detections_per_img = detections_per_img
        self.box_coder = BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
        self.proposal_matcher = SSDMatcher(iou_thresh)
        self.neg_to_pos_ratio = (1.0 - positive_fraction) / positive_fraction
        shapes = torch.empty(1, 3, image_size, image_size)
        maps = [torch.empty(1, 0, height, width) for height, width in grid_sizes(image_size, arch)]
        self.anchors = anchor_generator()(ImageList(shapes, [(image_size, image_size)]), maps)[0]

    def check(self, outputs: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """The anchors of each image of a batch of raw outputs, refused where they do not fit."""
        boxes, logits = outputs["bbox_regression"], outputs["cls_logits"]
        if boxes.shape[1] != len(self.anchors) or logits.shape[-1] != self.num_classes:
            raise ValueError(
                f"raw outputs of shapes {tuple(boxes.shape)} and {tuple(logits.shape)} do not fit "
                f"{len(self.anchors)} anchors at {self.image_size}x{self.image_size} and {self.num_classes} classes"
            )
        return [self.anchors.to(boxes.device)] * len(boxes)

    def loss(
        self, outputs: dict[str, torch.Tensor], boxes: Sequence[torch.Tensor], labels: Sequence[torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """``bbox_regression`` and ``classification`` losses, as the model computes them in training."""
        anchors = self.check(outputs)
        matches = [
            self.proposal_matcher(box_iou(image_boxes, image_anchors))
            if len(image_boxes)
            else torch.full((len(image_anchors),), -1, dtype=torch.int64, device=image_anchors.device)
            for image_boxes, image_anchors in zip(boxes, anchors)
        ]
        targets = [{"boxes": image_boxes, "labels": image_labels} for image_boxes, image_labels in zip(boxes, labels)]
        return SSD.compute_loss(self, targets, outputs, anchors, matches)  # type: ignore[arg-type]

    def decode(
        self, outputs: dict[str, torch.Tensor], image_sizes: Sequence[tuple[int, int]]
    ) -> list[dict[str, torch.Tensor]]:
        """Boxes, scores and labels after NMS, in each image's own pixels."""
        anchors = self.check(outputs)
        if len(image_sizes) != len(anchors):
            raise ValueError(f"{len(image_sizes)} image sizes for a batch of {len(anchors)}")
        model_size = [(self.image_size, self.image_size)] * len(anchors)
        outputs = {key: value.float() for key, value in outputs.items()}
        detections = SSD.postprocess_detections(self, outputs, anchors, model_size)  # type: ignore[arg-type]
        for detection, size in zip(detections, image_sizes):
            detection["boxes"] = resize_boxes(detection["boxes"], list(model_size[0]), [int(side) for side in size])
        return detections


def build_ssdlite(
    arch: str | Sequence[Stage | Sequence] = "small",
    num_classes: int = 81,
    image_size: int = 320,
    score_thresh: float = 0.01,
    nms_thresh: float = 0.5,
    topk_candidates: int = 400,
    detections_per_img: int = 200,
    **backbone_options: Any,
) -> SSDLite:
    """Build SSDLite-MobileViT; ``backbone_options`` go to :class:`MobileViT` (``frozen_stages`` ...).

    The backbone computes channels-last unless told otherwise; the head flattens its maps anyway.
    """
    backbone_options.setdefault("channels_last", True)
    backbone_class = SSDLiteBackboneV2 if is_v2_arch(arch) else SSDLiteBackbone
    return SSDLite(
        backbone_class(arch, **backbone_options),
        num_classes,
        image_size,
        score_thresh,
        nms_thresh,
        topk_candidates,
        detections_per_img,
    )
