"""Testing: a checkpoint's metric on a config's validation split (top-1 and top-5 accuracy, or
mIoU, as the config's task measures it)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from ..checkpoint import load_checkpoint, read_checkpoint
from ..config import Config
from ..tasks import Metrics, get_task
from . import distributed
from .checkpointing import write_atomic
from .evaluator import evaluate


@dataclass(frozen=True)
class LoadedWeights:
    """What was loaded, in words, and the class names a training checkpoint carries."""

    description: str
    class_names: tuple[str, ...] = ()


def main(
    config: Config, checkpoint: str | os.PathLike, out: str | os.PathLike | None = None, weights: str = "ema"
) -> Metrics:
    """Evaluate ``checkpoint`` on ``config``'s validation split (every image exactly once, also
    under torchrun); print the result and write it, with per-class figures, to ``out`` as JSON."""
    context = distributed.setup(config.train.device)
    try:
        task = get_task(config.task)
        model = task.build_model(config)
        loaded = load_weights(model, checkpoint, weights)
        data = task.build_data(config, False, context.world_size, context.rank, context.device.type == "cuda",
                               class_names=loaded.class_names or model.class_names)
        if len(data.class_names) > config.model.num_classes:
            raise ValueError(
                f"the validation split under {config.data.root} has {len(data.class_names)} classes but the "
                f"model has {config.model.num_classes} outputs")
        metrics = evaluate(model.to(context.device), data.val, context.device, task.evaluator(config, context.device))
        if context.is_main:
            for reason in metrics.skipped:
                print(f"skipped an unreadable image: {reason}")
            print(f"{metrics.summary()}  ({metrics.count} images; {loaded.description})")
            if out is not None:
                report = {"checkpoint": str(checkpoint), "weights": loaded.description,
                          **metrics.report(data.class_names)}
                Path(out).parent.mkdir(parents=True, exist_ok=True)
                write_atomic(Path(out), lambda file: file.write(json.dumps(report, indent=2).encode() + b"\n"))
        return metrics
    finally:
        distributed.cleanup()


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
