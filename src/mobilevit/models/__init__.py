"""MobileViT nn.Modules: the v1 and v2 backbones, their arch tables, the image classifier, the DeepLabv3 and PSPNet segmenters
and SSDLite detection."""

from typing import Any

from .backbone import ARCH_NAMES, build_backbone, is_v2_arch, resolve_arch
from .classifier import ImageClassifier, LinearHead, build_classifier
from .deeplabv3 import DeepLabV3, DeepLabV3Head, build_segmenter
from .features import FeatureInfo, FeatureLevel
from .mobilevit import ARCHS, MobileNetV2Stage, MobileViT, MobileViTBlock, MobileViTStage
from .mobilevit_v2 import V2_ARCHS, MobileViTV2, MobileViTV2Block, MobileViTV2Stage
from .pspnet import PSPNet, PSPNetHead, build_pspnet
from .tracing import leaf_modules, register_leaf_module, symbolic_trace

__all__ = [
    "ARCHS",
    "ARCH_NAMES",
    "DeepLabV3",
    "DeepLabV3Head",
    "FeatureInfo",
    "FeatureLevel",
    "ImageClassifier",
    "LinearHead",
    "MobileNetV2Stage",
    "MobileViT",
    "MobileViTBlock",
    "MobileViTStage",
    "PSPNet",
    "PSPNetHead",
    "SSDBoxCoding",
    "MobileViTV2",
    "MobileViTV2Block",
    "MobileViTV2Stage",
    "SSDLite",
    "SSDLiteBackbone",
    "SSDLiteHead",
    "V2_ARCHS",
    "build_backbone",
    "build_classifier",
    "build_pspnet",
    "build_segmenter",
    "build_ssdlite",
    "is_v2_arch",
    "leaf_modules",
    "register_leaf_module",
    "resolve_arch",
    "symbolic_trace",
]

# ssdlite.py subclasses torchvision's SSD, and torchvision takes 2 s to import (its ops pull in
# torch._dynamo): its names are imported on first use (PEP 562).
_SSDLITE_NAMES = ("SSDBoxCoding", "SSDLite", "SSDLiteBackbone", "SSDLiteHead", "build_ssdlite")


def __getattr__(name: str) -> Any:
    """An SSDLite name, imported from :mod:`mobilevit.models.ssdlite` on first use."""
    if name not in _SSDLITE_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import ssdlite

    return getattr(ssdlite, name)
