"""MobileViT nn.Modules: the v1 and v2 backbones, their arch tables, the image classifier, the DeepLabv3 and PSPNet segmenters
and SSDLite detection."""

from .backbone import ARCH_NAMES, build_backbone, is_v2_arch, resolve_arch
from .classifier import ImageClassifier, LinearHead, build_classifier
from .deeplabv3 import DeepLabV3, DeepLabV3Head, build_segmenter
from .features import FeatureInfo, FeatureLevel
from .mobilevit import ARCHS, MobileNetV2Stage, MobileViT, MobileViTBlock, MobileViTStage
from .mobilevit_v2 import V2_ARCHS, MobileViTV2, MobileViTV2Block, MobileViTV2Stage
from .pspnet import PSPNet, PSPNetHead, build_pspnet
from .ssdlite import DecodingSettings, SSDBoxCoding, SSDLite, SSDLiteBackbone, SSDLiteHead, build_ssdlite
from .tracing import leaf_modules, register_leaf_module, symbolic_trace

__all__ = [
    "ARCHS",
    "ARCH_NAMES",
    "DeepLabV3",
    "DeepLabV3Head",
    "DecodingSettings",
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
