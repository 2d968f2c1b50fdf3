"""Training checkpoints: all a stopped run needs to continue exactly, written atomically.

A checkpoint holds the objects of a :class:`TrainingRun` (the model, its EMA, the optimizer, the
gradient scaler, where the run stands: epoch, batch within it, optimizer step, best validation
score), each process's random state and the
resolved config. It is written to a temporary file and renamed over the old one, so a crash
leaves either the old or the new checkpoint, never half of one; ``config.json`` in the work dir
holds the same config in plain text.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from .distributed import DistributedContext, all_gather_objects
from .ema import ModelEma


@dataclass
class TrainState:
    """Where a run stands."""

    epoch: int = 0  # epochs finished
    batch_in_epoch: int = 0  # batches of the current epoch finished
    step: int = 0  # optimizer steps taken
    # best validation score so far: the task's best_metric (top-1, mIoU), of the EMA when there is one
    best_score: float = float("-inf")


@dataclass
class TrainingRun:
    """The objects that travel together through a run and into its checkpoints.

    ``model`` is the plain module (never a DistributedDataParallel wrapper).
    """

    model: nn.Module
    ema: ModelEma | None
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    state: TrainState = field(default_factory=TrainState)


def write_atomic(path: Path, write: Any) -> None:
    """Call ``write(file)`` on a temporary file next to ``path``, sync it, then rename it to ``path``."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as file:
        write(file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def write_config(path: Path, config: dict[str, Any]) -> None:
    """The resolved config as JSON, atomically."""
    write_atomic(path, lambda file: file.write(json.dumps(config, indent=2).encode() + b"\n"))


def rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    """This process's torch random state (CPU, and the device's when it is a GPU)."""
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


@dataclass(frozen=True)
class Checkpointer:
    """Writes the checkpoints of a run into its work dir (the main process writes; all take part)."""

    work_dir: Path
    config: dict[str, Any]
    context: DistributedContext
    keep: int = 0  # epoch_<n>.pth files kept; 0: all

    def save(self, names: Sequence[str], run: TrainingRun) -> None:
        """Write one checkpoint under each of ``names`` (``latest.pth``, ``epoch_3.pth``, ``best.pth``)."""
        rng = all_gather_objects(rng_state(self.context.device))  # a collective: every process calls save
        if not self.context.is_main:
            return
        state = run.state
        checkpoint = {
            "model": run.model.state_dict(),
            "ema": run.ema.module.state_dict() if run.ema is not None else None,
            "optimizer": run.optimizer.state_dict(),
            "scaler": run.scaler.state_dict(),
            "epoch": state.epoch,
            "batch_in_epoch": state.batch_in_epoch,
            "step": state.step,
            "best_score": state.best_score,
            "world_size": self.context.world_size,
            "rng": rng,
            "config": self.config,
        }
        first = self.work_dir / names[0]
        write_atomic(first, lambda file: torch.save(checkpoint, file))
        for name in names[1:]:
            write_atomic(self.work_dir / name, lambda file: _copy(first, file))
        self._prune()

    def _prune(self) -> None:
        if self.keep <= 0:
            return
        epochs = sorted(
            (int(match.group(1)), path) for path in self.work_dir.glob("epoch_*.pth")
            if (match := re.fullmatch(r"epoch_(\d+)\.pth", path.name))
        )
        for _, path in epochs[:-self.keep]:
            path.unlink()


def _copy(source: Path, file: Any) -> None:
    with source.open("rb") as handle:
        shutil.copyfileobj(handle, file)


def read_training_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a training checkpoint without executing pickled code."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(checkpoint, dict) or "model" not in checkpoint or "step" not in checkpoint:
        raise ValueError(f"{path} is not a mobilevit training checkpoint (no 'model' and 'step' entries)")
    return checkpoint


def restore(checkpoint: dict[str, Any], run: TrainingRun, context: DistributedContext) -> None:
    """Load a training checkpoint into the objects of a run, ``run.state`` included.

    Random states are restored when the number of processes is the one the checkpoint was made with.
    """
    run.model.load_state_dict(checkpoint["model"])
    if run.ema is not None:
        run.ema.module.load_state_dict(checkpoint["ema"] if checkpoint["ema"] is not None else checkpoint["model"])
    run.optimizer.load_state_dict(checkpoint["optimizer"])
    run.scaler.load_state_dict(checkpoint["scaler"])
    if checkpoint["world_size"] == context.world_size:
        own = checkpoint["rng"][context.rank]
        torch.set_rng_state(own["cpu"])
        if "cuda" in own and context.device.type == "cuda":
            torch.cuda.set_rng_state(own["cuda"], context.device)
    best = checkpoint["best_score"] if "best_score" in checkpoint else checkpoint["best_top1"]  # older checkpoints
    run.state = TrainState(checkpoint["epoch"], checkpoint["batch_in_epoch"], checkpoint["step"], best)


def check_same_model(checkpoint: Mapping[str, Any], model: nn.Module, config: Mapping[str, Any], path: Path) -> None:
    """Refuse, in one line, to resume from the checkpoint of another model (arch or class count)
    than the one ``config`` (the run's resolved config) builds."""
    ours = model.state_dict()
    theirs = checkpoint["model"]
    if theirs.keys() == ours.keys() and all(theirs[key].shape == ours[key].shape for key in ours):
        return
    saved = checkpoint.get("config", {}).get("model", {})
    differences = [f"{key} {saved[key]!r} where this run has {config['model'][key]!r}"
                   for key in ("arch", "num_classes") if key in saved and saved[key] != config["model"][key]]
    if not differences:
        key = next(key for key in sorted(set(ours) | set(theirs))
                   if key not in ours or key not in theirs or ours[key].shape != theirs[key].shape)
        differences = [f"{key} is {_shape(theirs.get(key))} where this run's model has {_shape(ours.get(key))}"]
    raise ValueError(
        f"{path} is a checkpoint of another model ({'; '.join(differences)}), so this run cannot resume from it. "
        f"To start fresh, train into another work dir (--work-dir) or move {path} away")


def _shape(tensor: torch.Tensor | None) -> str:
    return "absent" if tensor is None else str(tuple(tensor.shape))
