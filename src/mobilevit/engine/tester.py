"""Testing: top-1, top-5 and per-class accuracy of a checkpoint on a config's validation split."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..checkpoint import load_checkpoint, read_checkpoint
from ..config import Config, DataConfig, build_model
from ..data.datasets import ImageList, class_folders, find_images, read_class_names, uses_annotation
from ..imagenet import IMAGENET_SYNSETS
from ..data.loader import build_eval_loader
from . import distributed
from .allocator import keep_freed_memory
from .checkpointing import write_atomic
from .evaluator import Metrics, Scorer, evaluate


@dataclass(frozen=True)
class LoadedWeights:
    """What was loaded, in words, and the class names a training checkpoint carries."""

    description: str
    class_names: tuple[str, ...] = ()


def main(
    config: Config,
    checkpoint: str | os.PathLike,
    out: str | os.PathLike | None = None,
    weights: str = "ema",
    exported: tuple[str, Scorer] | None = None,
) -> Metrics:
    """Evaluate ``checkpoint`` on ``config``'s validation split (every image exactly once, also
    under torchrun); print the result and write it, with per-class accuracy, to ``out`` as JSON.

    ``exported``, a backend's name and the logits function of ``checkpoint`` run by it (an ONNX
    or OpenVINO file, perhaps quantized; see :func:`mobilevit.export.load_exported`), tests the
    exported file on the same images instead.
    """
    if config.train.keep_freed_memory:
        keep_freed_memory()
    context = distributed.setup(config.train.device)
    try:
        data = config.data
        model = build_model(config)
        if exported is None:
            loaded = load_weights(model, checkpoint, weights)
            scorer: Scorer = model.to(context.device)
        else:
            loaded = LoadedWeights(f"{exported[0]} running {checkpoint}")
            scorer = exported[1]
        class_names = label_names(data, loaded.class_names or model.class_names, config.model.num_classes)
        images = find_images(data.kind, data.root, data.val_split, data.val_annotation, class_names)
        check_labels(images, config.model.num_classes, data, named=bool(class_names))
        loader = build_eval_loader(data, images, context.world_size, context.rank, context.device.type == "cuda")
        metrics = evaluate(scorer, loader, context.device, config.model.num_classes)
        if context.is_main:
            for reason in metrics.skipped:
                print(f"skipped an unreadable image: {reason}")
            top5 = "" if metrics.top5 is None else f"top-5 {metrics.top5:.2f}  "
            print(f"top-1 {metrics.top1:.2f}  {top5}({metrics.count} images; {loaded.description})")
            if out is not None:
                report = results_dict(metrics, images.class_names, str(checkpoint), loaded.description)
                Path(out).parent.mkdir(parents=True, exist_ok=True)
                write_atomic(Path(out), lambda file: file.write(json.dumps(report, indent=2).encode() + b"\n"))
        return metrics
    finally:
        distributed.cleanup()


def label_names(data: DataConfig, known: tuple[str, ...], num_classes: int) -> tuple[str, ...]:
    """The class names that label the validation images, in the model's class order.

    ``data.classes`` when the config gives them; else ``known`` (the names a training checkpoint or
    config carries) where the class folders are among them; else, for a 1000-class model on folders
    named by WordNet synset (ImageNet's ``val/n01440764/...``, all classes or some), the ImageNet
    synsets, so each folder gets its ImageNet index. An empty result labels the class folders by
    their sorted position.
    """
    if data.classes:
        return read_class_names(data.classes, data.root)
    if uses_annotation(data.kind, data.root, data.val_annotation):
        return known
    folders = set(class_folders(Path(data.root) / data.val_split))
    if known and folders <= set(known):
        return known
    if num_classes == len(IMAGENET_SYNSETS) and folders <= set(IMAGENET_SYNSETS):
        return IMAGENET_SYNSETS
    return known


def check_labels(images: ImageList, num_classes: int, data: DataConfig, named: bool) -> None:
    """Refuse labels that cannot be the model's classes: more classes than outputs, or class names
    (given, or the sorted class folders) that do not count as many as the model's outputs."""
    count = len(images.class_names)
    labelled_by_file = uses_annotation(data.kind, data.root, data.val_annotation) and not named
    if count > num_classes or (count != num_classes and not labelled_by_file):
        what = f"{count} class names" if named else f"{count} class folders"
        raise ValueError(
            f"the validation split under {data.root} has {what} but the model has {num_classes} outputs, so its "
            "labels cannot be told: give the model's classes in order with data.classes=[...] (or a file of one "
            "name per line)" + (", or name ImageNet folders by WordNet synset (n01440764 ...)"
                                if num_classes == len(IMAGENET_SYNSETS) else ""))


def load_weights(model: nn.Module, checkpoint: str | os.PathLike, weights: str = "ema") -> LoadedWeights:
    """Load a checkpoint into ``model`` for evaluation.

    Our training checkpoints give their EMA weights (the recipe reports the EMA model) unless
    ``weights='model'`` or the run kept no EMA; any other checkpoint (path, directory or URL, in
    any layout :mod:`mobilevit.checkpoint` knows) is loaded as it is.
    """
    report = load_checkpoint(model, read_checkpoint(checkpoint, training_weights=weights))
    metadata = report.metadata
    if report.layout != "training":
        return LoadedWeights(f"{report.layout} weights of {report.path}", tuple(metadata.get("class_names", ())))
    which = "EMA weights" if metadata["weights"] == "ema" else "weights"
    description = f"{which} of {report.path}, epoch {metadata['epoch']}, step {metadata['step']}"
    return LoadedWeights(description, tuple(metadata.get("class_names", ())))


def results_dict(metrics: Metrics, class_names: tuple[str, ...], checkpoint: str, description: str) -> dict[str, Any]:
    """The JSON report of a test run."""
    accuracy = metrics.class_accuracy()
    return {
        "checkpoint": checkpoint,
        "weights": description,
        "top1": metrics.top1,
        **({} if metrics.top5 is None else {"top5": metrics.top5}),  # only for more than 5 classes
        "images": metrics.count,
        "skipped_images": list(metrics.skipped),
        "per_class": [
            {"class": class_names[label] if label < len(class_names) else str(label),
             "accuracy": accuracy[label], "images": metrics.class_count[label]}
            for label in range(len(metrics.class_count))
        ],
    }
