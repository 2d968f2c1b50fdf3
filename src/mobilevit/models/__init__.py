"""MobileViT nn.Modules: the backbone, its arch table, the image classifier and SSDLite detection."""

from .classifier import ImageClassifier, LinearHead, build_classifier
from .mobilevit import ARCHS, MobileNetV2Stage, MobileViT, MobileViTBlock, MobileViTStage, resolve_arch
from .ssdlite import SSDBoxCoding, SSDLite, SSDLiteBackbone, SSDLiteHead, build_ssdlite

__all__ = [
    "ARCHS", "ImageClassifier", "LinearHead", "MobileNetV2Stage", "MobileViT", "MobileViTBlock",
    "MobileViTStage", "SSDBoxCoding", "SSDLite", "SSDLiteBackbone", "SSDLiteHead", "build_classifier",
    "build_ssdlite", "resolve_arch",
]
