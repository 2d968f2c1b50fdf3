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

import importlib
from typing import Any

__version__ = "0.1.0"

# Each public name and the submodule it comes from, imported on first use (PEP 562) so that
# `import mobilevit` and the command line's --help and --version do not import torch.
_SOURCES = {
    "DeepLabV3": "models",
    "ImageClassifier": "models",
    "MobileViT": "models",
    "Preprocessing": "data.transforms",
    "build_classifier": "models",
    "build_segmenter": "models",
    "get_model": "zoo",
    "imagenet_classes": "imagenet",
    "imagenet_synsets": "imagenet",
    "inference_model": "apis",
    "init_model": "apis",
    "list_models": "zoo",
}
_RENAMED = {"imagenet_classes": "IMAGENET_CLASSES", "imagenet_synsets": "IMAGENET_SYNSETS"}

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


def __getattr__(name: str) -> Any:
    """A public name, imported from its submodule on first use."""
    if name not in _SOURCES:
        raise AttributeError(f"module 'mobilevit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_SOURCES[name]}", __name__), _RENAMED.get(name, name))
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    """The module's names, the ones not imported yet included."""
    return sorted({*globals(), *_SOURCES})
