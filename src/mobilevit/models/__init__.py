"""MobileViT nn.Modules: the backbone, its arch table, the image classifier and the DeepLabv3 segmenter."""

from .classifier import ImageClassifier, LinearHead, build_classifier
from .deeplabv3 import DeepLabV3, DeepLabV3Head, build_segmenter
from .mobilevit import ARCHS, MobileNetV2Stage, MobileViT, MobileViTBlock, MobileViTStage, resolve_arch

__all__ = [
    "ARCHS", "DeepLabV3", "DeepLabV3Head", "ImageClassifier", "LinearHead", "MobileNetV2Stage", "MobileViT",
    "MobileViTBlock", "MobileViTStage", "build_classifier", "build_segmenter", "resolve_arch",
]
