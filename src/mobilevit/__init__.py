"""mobilevit: the MobileViT vision transformer, end to end."""

from .apis import inference_model, init_model
from .data.transforms import Preprocessing
from .imagenet import IMAGENET_CLASSES as imagenet_classes
from .imagenet import IMAGENET_SYNSETS as imagenet_synsets
from .models import DeepLabV3, ImageClassifier, MobileViT, build_classifier, build_segmenter
from .zoo import get_model, list_models

__version__ = "0.1.0"

__all__ = [
    "DeepLabV3",
    "ImageClassifier",
    "MobileViT",
    "Preprocessing",
    "build_classifier",
    "build_segmenter",
    "get_model",
    "imagenet_classes",
    "imagenet_synsets",
    "inference_model",
    "init_model",
    "list_models",
    "__version__",
]
