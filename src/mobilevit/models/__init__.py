"""MobileViT nn.Modules: the backbone, its arch table, the image classifier, the DeepLabv3 segmenter
and SSDLite detection."""

from .classifier import ImageClassifier, LinearHead, build_classifier
from .deeplabv3 import DeepLabV3, DeepLabV3Head, build_segmenter
from .mobilevit import ARCHS, MobileNetV2Stage, MobileViT, MobileViTBlock, MobileViTStage, resolve_arch
from .ssdlite import SSDBoxCoding, SSDLite, SSDLiteBackbone, SSDLiteHead, build_ssdlite

__all__ = [
    "ARCHS",
    "DeepLabV3",
    "DeepLabV3Head",
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
    "resolve_arch",
]
