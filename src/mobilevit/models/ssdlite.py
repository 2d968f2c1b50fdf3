"""SSDLite object detection on the MobileViT backbone, laid out as ml-cvnets' published weights.

The network is ours (the extra layers and the head, whose structure the published weights fix);
the box coding around it (:class:`SSDBoxCoding`) composes torchvision's detection parts that match
ml-cvnets exactly: the anchors (``DefaultBoxGenerator`` with scales ``linspace(0.1, 1.05, 7)``),
the matching (``SSDMatcher(0.5)``), the box encoding (``BoxCoder((10, 10, 5, 5))``) and
``batched_nms``; the loss is SSD's multibox loss (hard-negative mining 3:1, smooth-L1 plus
cross-entropy over the positives), as torchvision's ``SSD.compute_loss`` computes it.

The model takes images in [0, 1] in its weights' channel order (the published v1 weights' BGR, v2's
RGB; no mean/std normalisation), resized to ``image_size``, and works over ``num_classes`` contiguous labels, 0 being the
background (81 for COCO, not torchvision's 91 with gaps).
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.detection._utils import BoxCoder, SSDMatcher
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.transform import resize_boxes
from torchvision.ops import batched_nms, box_iou, clip_boxes_to_image

from ..data.detection import resize_for_model
from ..data.transforms import Preprocessing
from ..errors import UsageError
from .backbone import is_v2_arch, resolve_arch
from .decoding import DecodingSettings
from .mobilevit import ConvNormAct, MobileViT, Stage, check_image_batch
from .mobilevit_v2 import MobileViTV2, MobileViTV2Stage

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
            raise UsageError(
                f"SSDLite reads stages 4 and 5 of the backbone: the arch needs five stages, got "
                f"{len(resolve_arch(arch))}"
            )
        super().__init__(arch, out_indices=(3, 4), expand_output=False, **backbone_options)
        if len(level_channels) != len(ASPECT_RATIOS):
            raise UsageError(f"level_channels needs {len(ASPECT_RATIOS)} entries, got {list(level_channels)}")
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


class SSDLite(nn.Module):
    """SSDLite-MobileViT (keys ``backbone.*`` as the classifier's, minus ``conv_1x1_exp``, plus
    ``backbone.extra_layers.*`` and ``head.levels.*``).

    ``model(batch)``, in training and in eval mode alike, takes a (B, 3, S, S) batch in [0, 1], in
    the model's channel order (BGR for v1's weights, RGB for v2's), already resized to
    ``image_size`` S and gives the network's raw outputs ``{'bbox_regression' (B, anchors, 4),
    'cls_logits' (B, anchors, num_classes)}``. The rest is the model's own methods,
    as torchvision's SSD keeps its loss and post-processing: :meth:`loss` (boxes in the resized
    pixels), :meth:`postprocess` (detections in each image's own pixels) and :meth:`detect` (a list
    of images of any sizes to their detections), all by :attr:`box_coding`, which holds the
    anchors, the matching and the :class:`DecodingSettings`. ``preprocessing`` (how images are
    prepared for the weights; None: as for the official ones) and ``class_names`` (the labels'
    names, the background first; empty: unnamed) describe the weights: the zoo, configs and
    checkpoints set them, :func:`mobilevit.inference_model` reads them.
    """

    task = "detection"  # which :mod:`mobilevit.tasks` task serves this model

    def __init__(
        self, backbone: SSDLiteBackbone, num_classes: int = 81, decoding: DecodingSettings = DecodingSettings()
    ) -> None:
        if num_classes < 2:
            raise UsageError(f"num_classes counts the background too, so it must be at least 2, got {num_classes}")
        super().__init__()
        self.backbone = backbone
        self.head = SSDLiteHead(
            backbone.out_channels, backbone.level_channels, anchor_generator().num_anchors_per_location(), num_classes
        )
        self.num_classes = num_classes
        self.box_coding = SSDBoxCoding(num_classes, decoding, backbone.arch)
        self.preprocessing: Preprocessing | None = None
        self.class_names: tuple[str, ...] = ()

    @property
    def decoding(self) -> DecodingSettings:
        return self.box_coding.decoding

    @property
    def image_size(self) -> int:
        return self.box_coding.decoding.image_size

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        if isinstance(images, (list, tuple)):
            raise TypeError(
                "SSDLite takes a (B, 3, S, S) batch resized to its image_size; detect(images) takes a list of "
                "images of any sizes"
            )
        check_image_batch(images, 3)
        if not torch.jit.is_tracing() and tuple(images.shape[-2:]) != (self.image_size, self.image_size):
            raise UsageError(
                f"a batch tensor must be resized to {self.image_size}x{self.image_size} already, got "
                f"{tuple(images.shape)}; detect(images) takes images of any sizes"
            )
        return self.head(list(self.backbone(images).values()))

    def loss(
        self, outputs: dict[str, torch.Tensor], boxes: Sequence[torch.Tensor], labels: Sequence[torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """SSD's ``bbox_regression`` and ``classification`` losses of raw outputs (see :meth:`SSDBoxCoding.loss`)."""
        return self.box_coding.loss(outputs, boxes, labels)

    def postprocess(
        self, outputs: dict[str, torch.Tensor], image_sizes: Sequence[tuple[int, int]]
    ) -> list[dict[str, torch.Tensor]]:
        """Detections of raw outputs in the pixels of images of ``image_sizes`` (see :meth:`SSDBoxCoding.decode`)."""
        return self.box_coding.decode(outputs, image_sizes)

    def detect(self, images: Sequence[torch.Tensor], interpolation: str = "bilinear") -> list[dict[str, torch.Tensor]]:
        """Per (3, H, W) image in [0, 1] of any size (in the model's channel order), ``{'boxes', 'scores', 'labels'}`` in its own
        pixels, best first: each image resized to ``image_size`` with ``interpolation`` (the weights':
        bilinear as torchvision's SSD for v1, bicubic for v2; ``predict`` passes the model's
        preprocessing's)."""
        if not images:
            return []
        batch = torch.stack([resize_for_model(image.float(), self.image_size, interpolation) for image in images])
        return self.postprocess(self(batch), [(int(image.shape[-2]), int(image.shape[-1])) for image in images])

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
    """The anchors of :class:`SSDLite` at one input size with the matching, the loss and the
    decoding over them, for raw outputs computed anywhere (the model, a training loop, ONNX).

    ``loss(outputs, boxes, labels)``: the SSD losses of a batch whose boxes are in the pixels of
    the resized input; ``decode(outputs, image_sizes)``: per-image ``{'boxes', 'scores',
    'labels'}`` in the pixels of images of ``image_sizes`` (H, W).
    """

    def __init__(
        self,
        num_classes: int,
        decoding: DecodingSettings = DecodingSettings(),
        arch: str | Sequence[Stage | Sequence] = "small",
        iou_thresh: float = 0.5,
        positive_fraction: float = 0.25,
    ) -> None:
        self.num_classes = num_classes
        self.decoding = decoding
        self.arch = arch
        self.box_coder = BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
        self.matcher = SSDMatcher(iou_thresh)
        self.negatives_per_positive = (1.0 - positive_fraction) / positive_fraction

    @functools.cached_property
    def anchors(self) -> torch.Tensor:
        """(anchors, 4) xyxy in the pixels of the resized input, computed on first use."""
        size = self.decoding.image_size
        images = ImageList(torch.empty(1, 3, size, size, device="cpu"), [(size, size)])
        maps = [torch.empty(1, 0, height, width, device="cpu") for height, width in grid_sizes(size, self.arch)]
        return anchor_generator()(images, maps)[0]

    def check(self, outputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The anchors on the outputs' device, refused where the outputs do not fit them."""
        boxes, logits = outputs["bbox_regression"], outputs["cls_logits"]
        if boxes.shape[1] != len(self.anchors) or logits.shape[-1] != self.num_classes:
            size = self.decoding.image_size
            raise UsageError(
                f"raw outputs of shapes {tuple(boxes.shape)} and {tuple(logits.shape)} do not fit "
                f"{len(self.anchors)} anchors at {size}x{size} and {self.num_classes} classes"
            )
        return self.anchors.to(boxes.device)

    def match(self, boxes: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
        """Per anchor, the index of its ground-truth box, or -1 (background) or -2 (ignored)."""
        if not len(boxes):
            return torch.full((len(anchors),), -1, dtype=torch.int64, device=anchors.device)
        return self.matcher(box_iou(boxes, anchors))

    def loss(
        self, outputs: dict[str, torch.Tensor], boxes: Sequence[torch.Tensor], labels: Sequence[torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """SSD's multibox loss, summed and divided by the positives of the batch: ``bbox_regression``
        (smooth-L1 of the positives' encoded offsets) and ``classification`` (cross-entropy of the
        positives and of the hardest negatives, three per positive in each image)."""
        anchors = self.check(outputs)
        box_losses, class_targets, positives = [], [], 0
        for image_regression, image_boxes, image_labels in zip(outputs["bbox_regression"], boxes, labels):
            matches = self.match(image_boxes, anchors)
            foreground = torch.where(matches >= 0)[0]
            matched = matches[foreground]
            positives += matched.numel()
            encoded = self.box_coder.encode_single(image_boxes[matched], anchors[foreground])
            box_losses.append(F.smooth_l1_loss(image_regression[foreground], encoded, reduction="sum"))
            targets = torch.zeros(len(anchors), dtype=image_labels.dtype, device=image_labels.device)
            targets[foreground] = image_labels[matched]
            class_targets.append(targets)
        targets = torch.stack(class_targets)
        logits = outputs["cls_logits"]
        class_loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
        class_loss = class_loss.view(targets.shape)
        # Hard negatives: per image, the background anchors of the largest loss, ranked among all.
        foreground = targets > 0
        negatives = self.negatives_per_positive * foreground.sum(1, keepdim=True)
        ranked = class_loss.clone()
        ranked[foreground] = -float("inf")
        _, order = ranked.sort(1, descending=True)
        background = order.sort(1)[1] < negatives
        count = max(1, positives)
        return {
            "bbox_regression": torch.stack(box_losses).sum() / count,
            "classification": (class_loss[foreground].sum() + class_loss[background].sum()) / count,
        }

    def decode(
        self, outputs: dict[str, torch.Tensor], image_sizes: Sequence[tuple[int, int]]
    ) -> list[dict[str, torch.Tensor]]:
        """Boxes, scores and labels after per-class NMS, best first, in each image's own pixels: per
        class the ``topk_candidates`` best above ``score_thresh``, then ``detections_per_img`` in all."""
        anchors = self.check(outputs)
        if len(image_sizes) != len(outputs["bbox_regression"]):
            raise UsageError(f"{len(image_sizes)} image sizes for a batch of {len(outputs['bbox_regression'])}")
        settings, size = self.decoding, self.decoding.image_size
        scores = F.softmax(outputs["cls_logits"].float(), dim=-1)
        detections = []
        for regression, image_scores, image_size in zip(outputs["bbox_regression"].float(), scores, image_sizes):
            boxes = clip_boxes_to_image(self.box_coder.decode_single(regression, anchors), (size, size))
            kept_boxes, kept_scores, kept_labels = [], [], []
            for label in range(1, self.num_classes):
                score = image_scores[:, label]
                above = score > settings.score_thresh
                score, order = score[above].topk(min(settings.topk_candidates, int(above.sum())))
                kept_boxes.append(boxes[above][order])
                kept_scores.append(score)
                kept_labels.append(torch.full_like(score, label, dtype=torch.int64))
            all_boxes, all_scores, all_labels = torch.cat(kept_boxes), torch.cat(kept_scores), torch.cat(kept_labels)
            keep = batched_nms(all_boxes, all_scores, all_labels, settings.nms_thresh)[: settings.detections_per_img]
            detections.append(
                {
                    "boxes": resize_boxes(all_boxes[keep], [size, size], [int(side) for side in image_size]),
                    "scores": all_scores[keep],
                    "labels": all_labels[keep],
                }
            )
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
    """Build SSDLite-MobileViT; the settings between ``image_size`` and ``detections_per_img`` are its
    :class:`DecodingSettings`, ``backbone_options`` go to :class:`MobileViT` (``frozen_stages`` ...).

    The backbone computes channels-last unless told otherwise; the head flattens its maps anyway.
    """
    decoding = DecodingSettings(image_size, score_thresh, nms_thresh, topk_candidates, detections_per_img)
    backbone_options.setdefault("channels_last", True)
    backbone_class = SSDLiteBackboneV2 if is_v2_arch(arch) else SSDLiteBackbone
    return SSDLite(backbone_class(arch, **backbone_options), num_classes, decoding)
