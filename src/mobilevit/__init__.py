"""mobilevit: the MobileViT vision transformer, end to end.

The models of the MobileViT paper (classification; DeepLabv3 segmentation; SSDLite detection)
with the published weights of every task, training and fine-tuning on your own images, testing,
prediction and export (ONNX, OpenVINO, TorchScript, Core ML, LiteRT, ExecuTorch, int8).

In Python::

    import mobilevit

    mobilevit.list_models("*xxsmall*")                            # the zoo, as timm's list_models
    model = mobilevit.get_model("mobilevit-xxsmall_3rdparty_in1k", pretrained=True)
    model = mobilevit.init_model("work_dirs/run/best.pth")       # a checkpoint, with its config
    result = mobilevit.inference_model(model, "photo.jpg")       # pred_label, pred_score, pred_class

On the command line: ``mobilevit list``, ``train CONFIG``, ``test CHECKPOINT``, ``predict IMAGE``,
``export MODEL``, ``plot WORK_DIR`` (``mobilevit --help``). The submodules: :mod:`mobilevit.apis`
(the functions above), :mod:`mobilevit.models` (the networks), :mod:`mobilevit.zoo` (the named
weights), :mod:`mobilevit.tasks` (what each task owns: data, loss, metric, outputs),
:mod:`mobilevit.config` (config files), :mod:`mobilevit.engine` (training and testing),
:mod:`mobilevit.export` (deployment). The documentation is in docs/ of the source.
"""

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
