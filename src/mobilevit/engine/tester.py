"""Testing: a checkpoint's metric on a config's validation split (top-1 and top-5 accuracy, mIoU
or box mAP, as the config's task measures it)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..checkpoint import LoadedWeights, load_weights
from ..config import Config
from ..errors import UsageError
from ..tasks import Metrics, get_task
from . import distributed
from .checkpointing import write_atomic
from .evaluator import Scorer, evaluate
from .fitting import fit_to_machine


def main(
    config: Config,
    checkpoint: str | os.PathLike,
    out: str | os.PathLike | None = None,
    weights: str = "ema",
    exported: tuple[str, Scorer] | None = None,
) -> Metrics:
    """Evaluate ``checkpoint`` on ``config``'s validation split (every image exactly once, also
    under torchrun); print the result and write it, with per-class figures, to ``out`` as JSON.

    ``exported``, a backend's name and the logits function of ``checkpoint`` run by it (an ONNX
    or OpenVINO file, perhaps quantized; see :func:`mobilevit.export.load_exported`), tests the
    exported file on the same images instead.
    """
    context = distributed.setup(config.train.device)
    try:
        config, notes = fit_to_machine(config)
        for note in notes if context.is_main else ():
            print(note)
        task = get_task(config.task)
        model = task.build_model(config)
        if exported is None:
            loaded = load_weights(model, checkpoint, weights)
            scorer: Scorer = model.to(context.device)
        else:
            loaded = LoadedWeights(f"{exported[0]} running {checkpoint}")
            scorer = exported[1]
        data = task.build_data(
            config,
            False,
            context.world_size,
            context.rank,
            context.device.type == "cuda",
            class_names=loaded.class_names or model.class_names,
        )
        if len(data.class_names) > config.model.num_classes:
            raise UsageError(
                f"the validation split under {config.data.root} has {len(data.class_names)} classes but the "
                f"model has {config.model.num_classes} outputs"
            )
        bar = "test" if context.is_main else None
        metrics = evaluate(scorer, data.val, context.device, task.evaluator(config, context.device), bar)
        if context.is_main:
            for reason in metrics.skipped:
                print(f"skipped an unreadable image: {reason}")
            print(f"{metrics.summary()}  ({metrics.count} images; {loaded.description})")
            if out is not None:
                report = {
                    "checkpoint": str(checkpoint),
                    "weights": loaded.description,
                    **metrics.report(data.class_names),
                }
                Path(out).parent.mkdir(parents=True, exist_ok=True)
                write_atomic(Path(out), lambda file: file.write(json.dumps(report, indent=2).encode() + b"\n"))
        return metrics
    finally:
        distributed.cleanup()
