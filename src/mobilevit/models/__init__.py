"""MobileViT nn.Modules: the backbone, its arch table and the image classifier."""

from .classifier import ImageClassifier, LinearHead, build_classifier
from .mobilevit import ARCHS, MobileNetV2Stage, MobileViT, MobileViTBlock, MobileViTStage, resolve_arch

__all__ = [
    "ARCHS", "ImageClassifier", "LinearHead", "MobileNetV2Stage", "MobileViT", "MobileViTBlock",
    "MobileViTStage", "build_classifier", "resolve_arch",
]
