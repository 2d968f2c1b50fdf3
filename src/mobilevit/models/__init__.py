"""MobileViT nn.Modules: the backbone, its arch table, the image classifier, the DeepLabv3 segmenter
and SSDLite detection."""

from .classifier import ImageClassifier, LinearHead, build_classifier
from .deeplabv3 import DeepLabV3, DeepLabV3Head, build_segmenter
from .features import FeatureInfo, FeatureLevel
from .mobilevit import ARCHS, MobileNetV2Stage, MobileViT, MobileViTBlock, MobileViTStage, resolve_arch
from .ssdlite import SSDBoxCoding, SSDLite, SSDLiteBackbone, SSDLiteHead, build_ssdlite
from .tracing import leaf_modules, register_leaf_module, symbolic_trace

__all__ = [
    "ARCHS",
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
    "SSDBoxCoding",
    "SSDLite",
    "SSDLiteBackbone",
    "SSDLiteHead",
    "build_classifier",
    "build_segmenter",
    "build_ssdlite",
    "leaf_modules",
    "register_leaf_module",
    "resolve_arch",
    "symbolic_trace",
]
