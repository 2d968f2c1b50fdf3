"""Image classification: the classifier, folder or annotation-file data sets, cross-entropy with
label smoothing, top-1 / top-5 / per-class accuracy; ``best.pth`` is the best top-1."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..config import Config, DataConfig, ModelConfig
from ..convert import CheckpointError
from ..data.datasets import ImageDataset, ImageList, class_folders, find_images, read_class_names, uses_annotation
from ..data.loader import Batch, LoaderOptions, collate, evaluation_loader, training_loader
from ..data.transforms import EvalTransform, Preprocessing, TrainTransform
from ..errors import UsageError
from ..imagenet import IMAGENET_CLASSES, IMAGENET_SYNSETS
from ..models import ImageClassifier, build_classifier
from .base import (
    LossFunction,
    Rendered,
    RenderOptions,
    Runner,
    TaskData,
    gather_over_processes,
    model_preprocessing,
    prepare_arrays,
    refuse_size_multiple,
    require_num_classes,
    sum_over_processes,
    torch_logits,
)


@dataclass(frozen=True)
class ClassificationMetrics:
    """Accuracy in percent over ``count`` images; per-class counts in class order. ``top5`` is None
    for a model of 5 classes or fewer, where every label is among the 5 highest scores."""

    top1: float
    top5: float | None
    count: int
    class_correct: list[int]
    class_count: list[int]
    skipped: tuple[str, ...] = ()

    def class_accuracy(self) -> list[float | None]:
        """Top-1 accuracy of each class in percent (None for a class without images)."""
        pairs = zip(self.class_correct, self.class_count)
        return [100.0 * correct / count if count else None for correct, count in pairs]

    def log_values(self) -> dict[str, float | int]:
        top5 = {} if self.top5 is None else {"top5": round(self.top5, 3)}  # only for more than 5 classes
        return {"top1": round(self.top1, 3), **top5, "images": self.count, "skipped_images": len(self.skipped)}

    def summary(self) -> str:
        return f"top-1 {self.top1:.2f}" + ("" if self.top5 is None else f"  top-5 {self.top5:.2f}")

    def report(self, class_names: Sequence[str]) -> dict[str, Any]:
        accuracy = self.class_accuracy()
        return {
            "top1": self.top1,
            **({} if self.top5 is None else {"top5": self.top5}),  # only for more than 5 classes
            "images": self.count,
            "skipped_images": list(self.skipped),
            "per_class": [
                {
                    "class": class_names[label] if label < len(class_names) else str(label),
                    "accuracy": accuracy[label],
                    "images": self.class_count[label],
                }
                for label in range(len(self.class_count))
            ],
        }


class ClassificationEvaluator:
    """Top-1, top-5 and per-class counts; top-5 counts an image as right when its label is among
    the 5 highest scores (only for more than 5 classes)."""

    def __init__(self, num_classes: int, device: torch.device) -> None:
        self.num_classes = num_classes
        self.correct1 = torch.zeros(num_classes, dtype=torch.int64, device=device)
        self.correct5 = torch.zeros(num_classes, dtype=torch.int64, device=device)
        self.counts = torch.zeros(num_classes, dtype=torch.int64, device=device)
        self.skipped: list[str] = []

    def update(self, output: torch.Tensor, batch: Batch) -> None:
        self.skipped += batch.skipped
        keep = batch.labels >= 0  # label -1: an unreadable image that was skipped
        scores, labels = output[keep].float(), batch.labels[keep]
        top = scores.topk(min(5, self.num_classes), dim=1).indices
        hits = top == labels[:, None]
        self.counts += torch.bincount(labels, minlength=self.num_classes)
        self.correct1 += torch.bincount(labels[hits[:, 0]], minlength=self.num_classes)
        self.correct5 += torch.bincount(labels[hits.any(dim=1)], minlength=self.num_classes)

    def compute(self) -> ClassificationMetrics:
        for tensor in (self.correct1, self.correct5, self.counts):
            sum_over_processes(tensor)
        total = int(self.counts.sum())
        if total == 0:
            raise UsageError("evaluation saw no images")
        return ClassificationMetrics(
            top1=100.0 * int(self.correct1.sum()) / total,
            top5=100.0 * int(self.correct5.sum()) / total if self.num_classes > 5 else None,
            count=total,
            class_correct=self.correct1.tolist(),
            class_count=self.counts.tolist(),
            skipped=gather_over_processes(self.skipped),
        )


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
        raise UsageError(
            f"the validation split under {data.root} has {what} but the model has {num_classes} outputs, so its "
            "labels cannot be told: give the model's classes in order with data.classes=[...] (or a file of one "
            "name per line)"
            + (
                ", or name ImageNet folders by WordNet synset (n01440764 ...)"
                if num_classes == len(IMAGENET_SYNSETS)
                else ""
            )
        )


def describe_predictions(logits: torch.Tensor, class_names: Sequence[str] | None) -> list[dict[str, Any]]:
    """Per image: ``pred_label``, ``pred_score``, ``pred_class`` and ``pred_scores`` (all classes);
    without ``class_names`` (None or empty) a class is named by its label."""
    scores = logits.float().softmax(dim=1)
    if class_names and len(class_names) != scores.shape[1]:
        raise UsageError(f"{len(class_names)} class names for a model with {scores.shape[1]} classes")
    results = []
    for row in scores.numpy():
        label = int(row.argmax())
        results.append(
            {
                "pred_label": label,
                "pred_score": float(row[label]),
                "pred_class": class_names[label] if class_names else str(label),
                "pred_scores": row,
            }
        )
    return results


@dataclass(frozen=True)
class Classification:
    """The classification task (see :class:`mobilevit.tasks.base.Task`)."""

    name: str = "classification"
    best_metric: str = "top1"
    default_preprocessing: Preprocessing = Preprocessing()  # the official weights': short side 288, crop 256
    # The MobileViT v2 weights' input, as ml-cvnets v0.2+ evaluated them and timm's configs say: RGB
    # (ml-cvnets v0.2 reads images with PIL), /255, short side 288 (bicubic), centre crop 256.
    default_preprocessing_v2: Preprocessing = Preprocessing(
        resize_short=288, crop_size=256, interpolation="bicubic", channel_order="RGB"
    )
    spatial_output: bool = False
    runner_output: str = "logits"  # what its predict takes from a runner
    pooled_head: bool = True

    def build_from_arch(self, arch: Any, **options: Any) -> ImageClassifier:
        return build_classifier(arch, **options)

    def recognises(self, state_dict: Mapping[str, torch.Tensor]) -> bool:
        """A classifier, or a backbone alone (which only a classifier's head can complete)."""
        return "head.fc.weight" in state_dict or not any(key.startswith("head.") for key in state_dict)

    def model_for_weights(
        self, arch: Any, state_dict: Mapping[str, torch.Tensor], metadata: Mapping
    ) -> ImageClassifier:
        if "head.fc.weight" not in state_dict:
            raise CheckpointError(
                "the checkpoint holds a backbone without a classification head (no head.fc): build "
                "the classifier from a zoo name or config and load it with strict_head=False"
            )
        return build_classifier(arch, num_classes=int(state_dict["head.fc.weight"].shape[0]))

    def known_class_names(self, model: ImageClassifier) -> tuple[str, ...]:
        """ImageNet-1k's for 1000 classes: every published classification checkpoint is an ImageNet-1k one."""
        return IMAGENET_CLASSES if model.num_classes == len(IMAGENET_CLASSES) else ()

    def settings_of(self, model: ImageClassifier) -> dict[str, Any]:
        return {}

    def published(self, record: Any) -> str:
        top5 = f"  top-5 {record.top5:.2f}" if record.top5 is not None else ""
        pretraining = f"  ({record.pretraining} pre-training)" if record.pretraining else ""
        return f"top-1 {record.top1:.2f}{top5}{pretraining}"

    def runner(self, model: ImageClassifier) -> Runner:
        return torch_logits(model)

    def predict(
        self,
        model: ImageClassifier,
        images: Sequence[np.ndarray],
        run: Runner,
        names: Sequence[str] = (),
        pixel_scores: bool = True,  # it has no scores per pixel
    ) -> list[dict[str, Any]]:
        batch = prepare_arrays(images, model_preprocessing(model, self), names)
        return describe_predictions(run(batch), model.class_names or None)

    def render(
        self,
        model: ImageClassifier,
        image: str,
        rgb: np.ndarray,
        result: dict[str, Any],
        stem: str,
        options: RenderOptions,
    ) -> Rendered:
        scores, names = result["pred_scores"], model.class_names
        top = [(int(label), float(scores[label])) for label in scores.argsort()[::-1][: options.topk]]
        named = [
            {"label": label, "score": score, "class": names[label] if names else str(label)} for label, score in top
        ]
        lines = [image, f"  {'rank':>4} {'label':>6} {'score':>7}  class"]
        lines += [
            f"  {rank:>4} {entry['label']:>6} {entry['score']:>7.4f}  {entry['class']}"
            for rank, entry in enumerate(named, start=1)
        ]
        record = {
            "image": image,
            "pred_label": result["pred_label"],
            "pred_score": result["pred_score"],
            "pred_class": result["pred_class"],
            "topk": named,
        }
        return Rendered("\n".join(lines), record)

    def build_model(self, config: Config, training: bool = False) -> ImageClassifier:
        require_num_classes(config)
        options = dataclasses.asdict(config.model)
        class_names = options.pop("class_names")
        del options["pretrained"], options["pretrained_keys"]  # loaded by training, not part of the architecture
        for item in dataclasses.fields(ModelConfig):
            if item.metadata.get("task", self.name) != self.name:  # another task's (the config refused a value)
                del options[item.name]
        if not options["output_stride"]:
            del options["output_stride"]  # the classifier's own, 32
        model = build_classifier(**options)
        model.class_names = tuple(class_names)
        return model

    def build_data(
        self,
        config: Config,
        train: bool,
        world_size: int = 1,
        rank: int = 0,
        pin_memory: bool = False,
        class_names: Sequence[str] = (),
    ) -> TaskData:
        refuse_size_multiple(config)
        data = config.data
        options = LoaderOptions(data.num_workers, world_size, rank, pin_memory)
        train_loader, description = None, ""
        if train:
            names = read_class_names(data.classes, data.root) if data.classes else ()
            train_images = find_images(
                data.kind, data.root, data.train_split, data.train_annotation, names, every_class=True
            )
            names = train_images.class_names
            transform = TrainTransform(data.preprocessing, data.crop_scale, data.crop_ratio, data.horizontal_flip)
            train_loader = training_loader(
                ImageDataset(train_images, transform, data.skip_bad_images),
                data.batch_shapes(world_size),
                collate,
                config.train.seed,
                options,
            )
            description = f"{len(train_images.samples)} training images, "
        else:
            names = label_names(data, tuple(class_names), config.model.num_classes)
        val_images = find_images(data.kind, data.root, data.val_split, data.val_annotation, names)
        if not train:
            check_labels(val_images, config.model.num_classes, data, named=bool(names))
        val_loader = evaluation_loader(
            ImageDataset(val_images, EvalTransform(data.preprocessing), data.skip_bad_images),
            data.val_batch_size,
            collate,
            options,
        )
        description += f"{len(val_images.samples)} validation images of {len(val_images.class_names)} classes"
        return TaskData(train_loader, val_loader, val_images.class_names, description)

    def training_images(self, config: Config) -> list[Path]:
        data = config.data
        return [path for path, _ in find_images(data.kind, data.root, data.train_split, data.train_annotation).samples]

    def loss_function(self, config: Config) -> LossFunction:
        label_smoothing = config.model.label_smoothing

        def loss(logits: torch.Tensor, batch: Batch) -> torch.Tensor:
            return F.cross_entropy(logits.float(), batch.labels, label_smoothing=label_smoothing)

        return loss

    def evaluator(self, config: Config, device: torch.device) -> ClassificationEvaluator:
        return ClassificationEvaluator(config.model.num_classes, device)


CLASSIFICATION = Classification()
