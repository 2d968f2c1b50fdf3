"""The one table of named models: architecture, preprocessing, published figures, weights."""

from __future__ import annotations

import difflib
import fnmatch
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from torch import nn

from .checkpoint import Checkpoint, load_checkpoint, read_checkpoint
from .data.detection import COCO_CLASSES
from .data.segmentation import ADE20K_CLASSES, VOC_CLASSES
from .data.transforms import Preprocessing
from .download import local_path_advice
from .errors import UsageError
from .imagenet import IMAGENET_CLASSES
from .models import MobileViT, resolve_arch
from .tasks import CLASSIFICATION, Task, get_task
from .tasks.detection import DETECTION_PREPROCESSING, V2_DETECTION_PREPROCESSING
from .tasks.segmentation import SEGMENTATION_PREPROCESSING, V2_SEGMENTATION_PREPROCESSING

_MMPRETRAIN_URL = "https://download.openmmlab.com/mmclassification/v0/mobilevit/"
_CVNETS_SEGMENTATION_URL = "https://docs-assets.developer.apple.com/ml-research/models/cvnets/segmentation/"
_CVNETS_DETECTION_URL = "https://docs-assets.developer.apple.com/ml-research/models/cvnets/detection/"
_CVNETS_V2_URL = "https://docs-assets.developer.apple.com/ml-research/models/cvnets-v2/classification/mobilevitv2/"
_CVNETS_V2_DENSE_URL = "https://docs-assets.developer.apple.com/ml-research/models/cvnets-v2/"

# How ml-cvnets v0.1 measured the published mIoU of its DeepLabv3 weights (eval_segmentation.py).
VOC_PROTOCOL = (
    "PASCAL VOC 2012 val (1,449 images): each whole image resized to 512x512 (bilinear, aspect ratio "
    "not kept), BGR, /255; logits upsampled x16 to 512x512 (bilinear), resized to the original size "
    "(nearest), argmax; mIoU over 21 classes from one confusion matrix over the set, label 255 ignored"
)

# How ml-cvnets v0.1 measured the published mAP of its SSDLite weights (eval_detection.py).
COCO_PROTOCOL = (
    "COCO val2017 (5,000 images): each whole image resized to 320x320 (bilinear, aspect ratio not kept), "
    "BGR, /255; boxes scaled back to the image; score threshold 0.01, NMS IoU 0.5, at most 200 per image; "
    "pycocotools box mAP@[.5:.95]"
)

# How ml-cvnets v0.2+ measured the published figures of its MobileViT v2 dense weights
# (cvnets-eval-seg / cvnets-eval-det with --evaluation.*.resize-input-images): RGB, bicubic. Its
# segmentation evaluation keeps the aspect ratio (v0.2 data/datasets/segmentation/pascal_voc.py and
# ade20k.py `_evaluation_transforms`: `Resize(img_size=min(size))`) and floors both sides to a multiple of
# the output stride (engine/eval_segmentation.py), one image a batch: the records' preprocessing does the
# same (`size_multiple`, the output stride).
_V2_SEGMENTATION_EVALUATION = (
    "each image's short side resized to 512 (bicubic, aspect ratio kept, long side floored, no crop), then "
    "both sides floored to a multiple of the output stride (bilinear, align_corners=True), RGB, /255, one "
    "image a batch; logits upsampled to the original size (bilinear, align_corners=True), argmax; the mask "
    "scored at its original size"
)
V2_VOC_PROTOCOL = (
    f"PASCAL VOC 2012 val (1,449 images): {_V2_SEGMENTATION_EVALUATION}; mIoU over 21 classes from one "
    "confusion matrix over the set, label 255 ignored"
)
V2_ADE20K_PROTOCOL = (
    f"ADE20k val (2,000 images): {_V2_SEGMENTATION_EVALUATION}; mIoU over 150 classes from one confusion "
    "matrix over the set, label 0 ('other') ignored"
)
V2_COCO_PROTOCOL = COCO_PROTOCOL.replace(
    "(bilinear, aspect ratio not kept), BGR", "(bicubic, aspect ratio not kept), RGB"
)

# The MobileViT v2 weights' input, as ml-cvnets v0.2+ evaluated them and timm's configs say: RGB
# (ml-cvnets v0.2 reads images with PIL), /255, short side 288 (bicubic), centre crop 256 (crop
# fraction 0.888). Hugging Face's processor flips to BGR and resizes bilinearly: see docs/models.md.
V2_PREPROCESSING = CLASSIFICATION.default_preprocessing_v2
# The v2 weights fine-tuned at 384: short side 384, centre crop 384 (crop fraction 1).
V2_PREPROCESSING_384 = Preprocessing(resize_short=384, crop_size=384, interpolation="bicubic", channel_order="RGB")


@dataclass(frozen=True)
class ZooModel:
    """A named model with its published figures and its official weights.

    ``task`` says which model the weights are for: ``classification`` (figures ``top1``/``top5``
    on ImageNet-1k val), ``segmentation`` (a DeepLabv3 at output stride 16; ``miou`` on PASCAL
    VOC 2012 val, measured as ``protocol`` says) or ``detection`` (an SSDLite at 320x320; box
    ``map`` on COCO val2017, as ``protocol`` says). ``class_names`` name the weights' outputs in
    order; ``preprocessing.crop_size`` is the input size the figures were measured at. A sha256
    prefix in the URL's file name (``...-cb4f741c.pth``) is checked on download.
    """

    name: str
    arch: str
    config: str  # the recipe that trains such weights
    url: str
    params_m: float
    flops_g: float
    class_names: tuple[str, ...]
    top1: float | None = None
    top5: float | None = None
    preprocessing: Preprocessing = Preprocessing()
    task: str = "classification"
    miou: float | None = None
    map: float | None = None
    protocol: str = ""
    sha256: str = ""
    pretraining: str = ""
    dataset: str = "VOC 2012"  # a segmenter's: where its mIoU was measured
    build_options: tuple[tuple[str, Any], ...] = ()  # the task builder's options beyond the arch (a segmenter's head)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def _deeplabv3(variant: str, arch: str, file: str, params_m: float, flops_g: float, miou: float) -> ZooModel:
    """A DeepLabv3-MobileViT of ml-cvnets v0.1 (PASCAL VOC 2012 train_aug with COCO, 21 classes)."""
    return ZooModel(
        name=f"deeplabv3_mobilevit-{variant}_3rdparty_voc",
        arch=arch,
        config=f"configs/deeplabv3/deeplabv3_mobilevit-{variant}_4xb32_voc.py",
        url=_CVNETS_SEGMENTATION_URL + file,
        params_m=params_m,
        flops_g=flops_g,
        class_names=VOC_CLASSES,
        preprocessing=SEGMENTATION_PREPROCESSING,
        task="segmentation",
        miou=miou,
        protocol=VOC_PROTOCOL,
    )


def _ssdlite(variant: str, arch: str, file: str, params_m: float, flops_g: float, box_map: float) -> ZooModel:
    """An SSDLite-MobileViT of ml-cvnets v0.1 (COCO 2017 train, 80 classes and the background)."""
    return ZooModel(
        name=f"ssdlite_mobilevit-{variant}_3rdparty_coco",
        arch=arch,
        config=f"configs/ssdlite/ssdlite_mobilevit-{variant}_4xb32_coco.py",
        url=_CVNETS_DETECTION_URL + file,
        params_m=params_m,
        flops_g=flops_g,
        class_names=("background", *COCO_CLASSES),
        preprocessing=DETECTION_PREPROCESSING,
        task="detection",
        map=box_map,
        protocol=COCO_PROTOCOL,
    )


_V2_WIDTHS = {"050": "0.5", "075": "0.75", "100": "1.0", "125": "1.25", "150": "1.5", "175": "1.75", "200": "2.0"}
# Multiply-adds at the crop size as `mobilevit flops` counts them (timm's published GMACs agree
# to 0.01 G); ImageNet-1k top-1 as ml-cvnets' model zoo publishes it (it gives no top-5).
_V2_FLOPS = {
    "050": (0.48, 1.08),
    "075": (1.05, 2.37),
    "100": (1.84, 4.15),
    "125": (2.86, 6.43),
    "150": (4.09, 9.21),
    "175": (5.55, 12.48),
    "200": (7.22, 16.25),
}
_V2_PARAMS = {"050": 1.37, "075": 2.87, "100": 4.90, "125": 7.48, "150": 10.59, "175": 14.25, "200": 18.45}


def _mobilevit_v2(width: str, folder: str, size: int, top1: float) -> ZooModel:
    """A MobileViT v2 classifier of ml-cvnets (``cvnets-v2/.../{folder}/{size}x{size}/mobilevitv2-{w}.pt``).

    ``folder`` is ``imagenet1k`` or ``imagenet21k_to_1k`` (ImageNet-21k-P, then fine-tuned on 1k);
    the 384 weights are the 256 ones fine-tuned at 384. The config is the ImageNet-1k recipe of
    the width, the one every record of the width starts from.
    """
    pretrained_on_21k = folder == "imagenet21k_to_1k"
    suffix = "-384px" if size == 384 else ""
    return ZooModel(
        name=f"mobilevitv2-{width}_{'in21k-pre_' if pretrained_on_21k else ''}3rdparty_in1k{suffix}",
        arch=f"v2_{width}",
        config=f"configs/mobilevitv2/mobilevitv2-{width}_8xb128_in1k.py",
        url=f"{_CVNETS_V2_URL}{folder}/{size}x{size}/mobilevitv2-{_V2_WIDTHS[width]}.pt",
        params_m=_V2_PARAMS[width],
        flops_g=_V2_FLOPS[width][size == 384],
        class_names=IMAGENET_CLASSES,
        top1=top1,
        preprocessing=V2_PREPROCESSING_384 if size == 384 else V2_PREPROCESSING,
        pretraining="ImageNet-21k-P (winter 2021)" if pretrained_on_21k else "",
    )


# ml-cvnets' MobileViT v2 segmenters: where each was trained, with its output stride and DeepLabv3
# rates (ml-cvnets' yamls; the file records neither), classes, protocol and config suffix.
_V2_SEGMENTATION_DATA = {
    "voc": ("pascalvoc", "VOC 2012", 16, (6, 12, 18), VOC_CLASSES, V2_VOC_PROTOCOL, "4xb32_voc"),
    "ade20k": ("ade20k", "ADE20k", 8, (12, 24, 36), ADE20K_CLASSES, V2_ADE20K_PROTOCOL, "4xb4_ade20k"),
}


def _v2_segmenter(head: str, data: str, width: str, params_m: float, flops_g: float, miou: float) -> ZooModel:
    """A DeepLabv3 or PSPNet on MobileViT v2 of ml-cvnets
    (``cvnets-v2/segmentation/{pascalvoc,ade20k}/mobilevitv2/{head}-mobilevitv2-{w}.pt``). The config
    is ml-cvnets' recipe of width 1.0 (the one it publishes), which every width follows."""
    folder, dataset, output_stride, rates, classes, protocol, recipe = _V2_SEGMENTATION_DATA[data]
    # ml-cvnets v0.2+ upsample the logits with align_corners=True (BaseSegHead); v2 builders' default too
    options: tuple[tuple[str, Any], ...] = (("head", head), ("output_stride", output_stride), ("align_corners", True))
    if head == "deeplabv3":
        options += (("atrous_rates", rates),)
    return ZooModel(
        name=f"{head}_mobilevitv2-{width}_3rdparty_{data}",
        arch=f"v2_{width}",
        config=f"configs/{head}/{head}_mobilevitv2-100_{recipe}.py",
        url=f"{_CVNETS_V2_DENSE_URL}segmentation/{folder}/mobilevitv2/{head}-mobilevitv2-{_V2_WIDTHS[width]}.pt",
        params_m=params_m,
        flops_g=flops_g,
        class_names=classes,
        preprocessing=replace(V2_SEGMENTATION_PREPROCESSING, size_multiple=output_stride),
        task="segmentation",
        miou=miou,
        protocol=protocol,
        dataset=dataset,
        build_options=options,
    )


def _v2_ssdlite(width: str, params_m: float, flops_g: float, box_map: float) -> ZooModel:
    """An SSDLite on MobileViT v2 of ml-cvnets (``cvnets-v2/detection/mobilevitv2/coco-ssd-mobilevitv2-{w}.pt``,
    COCO 2017, 80 classes and the background); the config is ml-cvnets' recipe of width 1.0. Its input
    is ml-cvnets' (config/detection/ssd_coco/mobilevit_v2.yaml): RGB, the whole image resized to
    320x320 bicubically, which predict, data and exported files honour."""
    return ZooModel(
        name=f"ssdlite_mobilevitv2-{width}_3rdparty_coco",
        arch=f"v2_{width}",
        config="configs/ssdlite/ssdlite_mobilevitv2-100_4xb32_coco.py",
        url=f"{_CVNETS_V2_DENSE_URL}detection/mobilevitv2/coco-ssd-mobilevitv2-{_V2_WIDTHS[width]}.pt",
        params_m=params_m,
        flops_g=flops_g,
        class_names=("background", *COCO_CLASSES),
        preprocessing=V2_DETECTION_PREPROCESSING,
        task="detection",
        map=box_map,
        protocol=V2_COCO_PROTOCOL,
    )


# (width, params (M), multiply-adds (G), published figure) of ml-cvnets' v2 dense weights: the
# figures and the parameter counts (derived to 0.01 M, which the model zoo rounds to 0.1 M; the
# auxiliary head of training left out) as the facts sheet gives them; multiply-adds as `mobilevit
# flops` counts them at 512x512 (segmentation) and 320x320 (detection). Not published: DeepLabv3-VOC
# 0.75, 1.75, 2.0; PSPNet-VOC 1.75, 2.0; PSPNet-ADE20k 2.0.
_V2_DEEPLABV3_VOC = (
    ("050", 6.24, 7.44, 75.07),
    ("100", 13.32, 17.83, 78.94),
    ("125", 17.67, 24.65, 79.68),
    ("150", 22.56, 32.54, 80.30),
)
_V2_DEEPLABV3_ADE20K = (
    ("050", 6.31, 25.98, 31.93),
    ("075", 9.58, 39.87, 34.70),
    ("100", 13.38, 56.26, 37.06),
    ("125", 17.73, 75.15, 38.42),
    ("150", 22.62, 96.54, 38.91),
    ("175", 28.05, 120.43, 39.53),
    ("200", 34.02, 146.81, 40.94),
)
_V2_PSPNET_VOC = (
    ("050", 3.55, 4.75, 74.62),
    ("075", 6.18, 8.74, 77.44),
    ("100", 9.38, 13.81, 78.92),
    ("125", 13.16, 19.95, 79.40),
    ("150", 17.51, 27.17, 79.93),
)
_V2_PSPNET_ADE20K = (
    ("050", 3.62, 15.23, 31.77),
    ("075", 6.25, 26.43, 35.22),
    ("100", 9.45, 40.14, 36.57),
    ("125", 13.22, 56.35, 38.76),
    ("150", 17.57, 75.05, 38.74),
    ("175", 22.49, 96.26, 39.82),
)
_V2_SSDLITE_COCO = (
    ("050", 2.04, 0.92, 21.24),
    ("075", 3.58, 1.84, 24.57),
    ("100", 5.61, 3.10, 26.47),
    ("125", 8.17, 4.71, 27.85),
    ("150", 11.28, 6.66, 28.83),
    ("175", 14.92, 8.96, 29.52),
    ("200", 19.11, 11.60, 30.21),
)

MODELS: dict[str, ZooModel] = {
    record.name: record
    for record in (
        ZooModel(
            name="mobilevit-xxsmall_3rdparty_in1k",
            arch="xx_small",
            config="configs/mobilevit/mobilevit-xxsmall_8xb128_in1k.py",
            url=_MMPRETRAIN_URL + "mobilevit-xxsmall_3rdparty_in1k_20221018-77835605.pth",
            params_m=1.27,
            flops_g=0.42,
            class_names=IMAGENET_CLASSES,
            top1=69.02,
            top5=88.91,
        ),
        ZooModel(
            name="mobilevit-xsmall_3rdparty_in1k",
            arch="x_small",
            config="configs/mobilevit/mobilevit-xsmall_8xb128_in1k.py",
            url=_MMPRETRAIN_URL + "mobilevit-xsmall_3rdparty_in1k_20221018-be39a6e7.pth",
            params_m=2.32,
            flops_g=1.05,
            class_names=IMAGENET_CLASSES,
            top1=74.75,
            top5=92.32,
        ),
        ZooModel(
            name="mobilevit-small_3rdparty_in1k",
            arch="small",
            config="configs/mobilevit/mobilevit-small_8xb128_in1k.py",
            url=_MMPRETRAIN_URL + "mobilevit-small_3rdparty_in1k_20221018-cb4f741c.pth",
            params_m=5.58,
            flops_g=2.03,
            class_names=IMAGENET_CLASSES,
            top1=78.25,
            top5=94.09,
        ),
        # mIoU of these files as the ml-cvnets v0.1 release states it (the paper: 73.6 / 77.1 / 79.1).
        # Multiply-adds at 512x512 as `mobilevit flops` counts them; only XS has a published figure,
        # 5.7 G in the paper's Table 10c, counted its own way (ours: 7.49 G, 2.09 G of it attention).
        _deeplabv3("xxsmall", "xx_small", "deeplabv3_mobilevit_xxs.pt", params_m=1.85, flops_g=4.00, miou=72.8),
        _deeplabv3("xsmall", "x_small", "deeplabv3_mobilevit_xs.pt", params_m=2.94, flops_g=7.49, miou=77.1),
        _deeplabv3("small", "small", "deeplabv3_mobilevit_s.pt", params_m=6.36, flops_g=13.83, miou=79.3),
        # mAP of these files as the ml-cvnets v0.1 release states it (the paper: 24.8 / 27.7 for XS / S).
        # Multiply-adds at 320x320 as `mobilevit flops` counts them.
        _ssdlite("xxsmall", "xx_small", "ssd_mobilevit_xxs_320.pt", params_m=1.76, flops_g=0.86, box_map=19.9),
        _ssdlite("xsmall", "x_small", "ssd_mobilevit_xs_320.pt", params_m=2.74, flops_g=1.89, box_map=24.8),
        _ssdlite("small", "small", "ssd_mobilevit_s_320.pt", params_m=5.74, flops_g=3.48, box_map=27.9),
        # MobileViT v2: ImageNet-1k at 256, fine-tuned at 384, and ImageNet-21k-P then 1k at 256 and 384.
        *(
            _mobilevit_v2(width, "imagenet1k", 256, top1)
            for width, top1 in zip(_V2_WIDTHS, (70.18, 75.56, 78.09, 79.65, 80.38, 80.84, 81.17))
        ),
        *(
            _mobilevit_v2(width, "imagenet1k", 384, top1)
            for width, top1 in zip(_V2_WIDTHS, (72.14, 76.98, 79.68, 80.94, 81.50, 82.04, 82.17))
        ),
        *(
            _mobilevit_v2(width, "imagenet21k_to_1k", 256, top1)
            for width, top1 in zip(("150", "175", "200"), (81.46, 81.94, 82.36))
        ),
        *(
            _mobilevit_v2(width, "imagenet21k_to_1k", 384, top1)
            for width, top1 in zip(("150", "175", "200"), (82.60, 82.93, 83.41))
        ),
        # MobileViT v2 dense: DeepLabv3 and PSPNet on VOC and ADE20k, SSDLite on COCO
        *(_v2_segmenter("deeplabv3", "voc", *row) for row in _V2_DEEPLABV3_VOC),
        *(_v2_segmenter("deeplabv3", "ade20k", *row) for row in _V2_DEEPLABV3_ADE20K),
        *(_v2_segmenter("pspnet", "voc", *row) for row in _V2_PSPNET_VOC),
        *(_v2_segmenter("pspnet", "ade20k", *row) for row in _V2_PSPNET_ADE20K),
        *(_v2_ssdlite(*row) for row in _V2_SSDLITE_COCO),
    )
}


# timm's names of the same weights (``timm/mobilevit_s.cvnets_in1k`` ...), taken as the zoo's.
TIMM_NAMES = {
    "mobilevit_xxs": "mobilevit-xxsmall_3rdparty_in1k",
    "mobilevit_xs": "mobilevit-xsmall_3rdparty_in1k",
    "mobilevit_s": "mobilevit-small_3rdparty_in1k",
}


def list_models(pattern: str | Sequence[str] = "") -> list[str]:
    """Names of the zoo's models; with ``pattern`` (a shell-style wildcard such as ``'*xxsmall*'``,
    or a list of them), those matching one, as timm's ``list_models``."""
    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    if not any(patterns):
        return list(MODELS)
    return [name for name in MODELS if any(fnmatch.fnmatch(name, one) for one in patterns if one)]


def zoo_name(name: str) -> str:
    """The zoo's name for ``name``: itself, or the zoo name of timm's name (``mobilevit_s``, with or
    without a ``.cvnets_in1k`` tag)."""
    return TIMM_NAMES.get(name.split(".", 1)[0], name) if name.startswith("mobilevit_") else name


def suggestion(name: str) -> str:
    """What an unknown model name may have meant: the zoo name of a timm name, or the closest zoo name."""
    if zoo_name(name) in MODELS:
        return f" timm's {name!r} is {zoo_name(name)!r} here."
    close = difflib.get_close_matches(name, MODELS, n=1)
    if close:
        return f" Did you mean {close[0]!r}?"
    close = difflib.get_close_matches(name, TIMM_NAMES, n=1)
    return f" Did you mean {close[0]!r} (timm's name of {TIMM_NAMES[close[0]]!r})?" if close else ""


def get_record(name: str) -> ZooModel:
    """The zoo record of ``name`` (a zoo name, or timm's name of the same weights); an unknown
    name lists the known ones."""
    if zoo_name(name) not in MODELS:
        raise UsageError(f"unknown model {name!r}.{suggestion(name)} Known models: {', '.join(MODELS)}")
    return MODELS[zoo_name(name)]


def get_model(
    name: str, pretrained: bool | str | os.PathLike = False, features_only: bool = False, **options
) -> nn.Module:
    """Build a zoo model; ``pretrained`` is False, True (the official weights) or a checkpoint path/URL.

    The record's task builds the model: a classifier, whose ``options`` go to
    :func:`~mobilevit.models.build_classifier` (``num_classes``, ``out_indices`` ...), a segmenter
    (:func:`~mobilevit.models.build_segmenter`) or a detector (:func:`~mobilevit.models.build_ssdlite`).
    As timm's ``create_model``: with a ``num_classes`` other than the checkpoint's, its head (the
    segmenter's classifier) is left out and the new one starts as initialised, with a warning
    naming the skipped keys; a classifier with ``num_classes=0`` gives pooled features, and
    ``features_only=True`` gives a classifier's backbone (:class:`~mobilevit.models.MobileViT`),
    which returns the maps of ``out_indices`` (default: every stage) described by its ``feature_info``.
    """
    record = get_record(name)
    task = get_task(record.task)
    if features_only:
        return _backbone(record, task, pretrained, options)
    options.setdefault("num_classes", record.num_classes)
    for key, value in record.build_options:
        options.setdefault(key, value)
    model = task.build_from_arch(record.arch, **options)
    model.preprocessing = record.preprocessing  # what inference_model prepares images with
    if options["num_classes"] == record.num_classes:
        model.class_names = record.class_names
    if pretrained is not False:
        # a URL (the official weights with pretrained=True) is downloaded once into the cache
        source: str | os.PathLike | Checkpoint = record.url if pretrained is True else pretrained
        with local_path_advice("pass pretrained={path!r}"):
            if options["num_classes"] == 0:  # pooled features: the checkpoint's head has no place, no news
                source = _without_head(read_checkpoint(source))
            load_checkpoint(model, source, strict_head=False)
    return model


def _backbone(record: ZooModel, task: Task, pretrained: bool | str | os.PathLike, options: dict) -> MobileViT:
    """``get_model(..., features_only=True)``: the backbone of a model that pools it (a classifier),
    weights loaded, maps in the usual memory layout unless ``channels_last=True``."""
    if not task.pooled_head:
        raise UsageError(
            f"features_only=True takes the backbone of a model that pools it (a classifier); {record.name} is "
            f"a {record.task} model: take its .backbone"
        )
    if "num_classes" in options:
        raise UsageError("features_only=True builds no head: leave num_classes out")
    options.setdefault("out_indices", tuple(range(len(resolve_arch(record.arch)))))
    options.setdefault("channels_last", False)
    model = task.build_from_arch(record.arch, num_classes=0, **options)
    if pretrained is not False:
        with local_path_advice("pass pretrained={path!r}"):
            load_checkpoint(model, _without_head(read_checkpoint(record.url if pretrained is True else pretrained)))
    backbone = model.backbone
    backbone.preprocessing = record.preprocessing  # how its images are prepared
    return backbone


def _without_head(checkpoint: Checkpoint) -> Checkpoint:
    state_dict = {key: value for key, value in checkpoint.state_dict.items() if not key.startswith("head.")}
    return replace(checkpoint, state_dict=state_dict)
