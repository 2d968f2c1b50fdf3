"""Training checkpoints: all a stopped run needs to continue exactly, written atomically.

A checkpoint holds the objects of a :class:`TrainingRun` (the model, its EMA, the optimizer, the
gradient scaler, where the run stands: epoch, batch within it, optimizer step, best validation
score), each process's random state and the resolved config, and the sha256 of all that (checked
when it is read, with the CRC-32 of each zip record). It is written to a temporary file and
renamed over the old one, so a crash leaves either the old or the new checkpoint, never half of
one; ``config.json`` in the work dir holds the same config in plain text. Auto-resume takes
``latest.pth``, or, when that is damaged, the newest intact ``epoch_<n>.pth``
(:func:`find_resume_checkpoint`).

Weights that turned NaN or inf are never written (:meth:`Checkpointer.save` stops the run instead,
so the checkpoints already there stay the last good ones) and never resumed from.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..checkpoint import DIGEST_KEY, CheckpointError, check_digest, check_finite, describe_shape, read_pickle
from ..errors import DivergedError, UsageError
from ..integrity import describe_non_finite, first_non_finite, payload_digest, write_atomic
from .distributed import DistributedContext, all_gather_objects
from .ema import ModelEma

__all__ = [
    "Checkpointer",
    "TrainState",
    "find_resume_checkpoint",
    "read_training_checkpoint",
    "restore",
    "rng_state",
    "write_atomic",
    "write_config",
]


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
        """Write one checkpoint under each of ``names`` (``latest.pth``, ``epoch_3.pth``, ``best.pth``).

        ``latest.pth`` is written last: a run stopped during a save resumes from the checkpoint
        before and, training the same steps again, writes every file of this one anew (a ``best.pth``
        written before the stop is written again, the same). Weights holding NaN or inf stop the run
        with a :class:`FloatingPointError` and nothing is written (every process sees the same
        weights, so every process stops).
        """
        # a collective: every process calls save, and every process stops where any one's weights diverged
        gathered = all_gather_objects((rng_state(self.context.device), non_finite_weights(run, self.work_dir)))
        problems = [problem for _, problem in gathered if problem is not None]
        if problems:
            raise DivergedError(problems[0])
        rng = [state for state, _ in gathered]
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
        checkpoint[DIGEST_KEY] = payload_digest(checkpoint)
        # Serialised in memory first, so that a failed write (a full disk) is our OSError, not torch's.
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        for name in sorted(names, key=lambda name: name == "latest.pth"):  # latest.pth last, the others in order
            write_atomic(self.work_dir / name, lambda file: file.write(buffer.getbuffer()))
        self._prune()

    def _prune(self) -> None:
        if self.keep <= 0:
            return
        for path in _epoch_checkpoints(self.work_dir)[: -self.keep]:
            path.unlink()


def check_finite_weights(run: TrainingRun, work_dir: Path) -> None:
    """Stop the run with a :class:`FloatingPointError` naming the first weight of the model or its
    EMA that holds NaN or inf; the checkpoints in ``work_dir`` are left as they are."""
    problem = non_finite_weights(run, work_dir)
    if problem is not None:
        raise DivergedError(problem)


def non_finite_weights(run: TrainingRun, work_dir: Path) -> str | None:
    """What :func:`check_finite_weights` says of the run's weights, or None where they are finite."""
    for which, module in (("model", run.model), ("EMA", run.ema.module if run.ema is not None else None)):
        if module is None:
            continue
        weights = module.state_dict()
        name = first_non_finite(weights)
        if name is not None:
            state = run.state
            epoch = state.epoch + (1 if state.batch_in_epoch else 0)  # at an epoch's end, epoch counts it
            return (
                f"the {which} weights turned non-finite at epoch {epoch}, step {state.step}: {name} "
                f"holds {describe_non_finite(weights[name])}. The run stopped without writing a checkpoint, so "
                f"those in {work_dir} are the last good ones; resume from them with a lower optim.lr, an "
                "optim.clip_grad, or train.amp='bfloat16'"
            )
    return None


def read_training_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read and verify a training checkpoint without executing pickled code.

    A damaged, truncated or incomplete file is a :class:`CheckpointError` naming it and what is wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if path.suffix == ".safetensors":
        raise CheckpointError(
            f"{path} is a safetensors file, which holds weights only; resuming needs a training "
            "checkpoint written by mobilevit train (latest.pth, epoch_<n>.pth)"
        )
    checkpoint = read_pickle(path)
    if not isinstance(checkpoint, dict) or "model" not in checkpoint or "step" not in checkpoint:
        raise CheckpointError(f"{path} is not a mobilevit training checkpoint (no 'model' and 'step' entries)")
    check_digest(checkpoint, path)
    problem = _entries_problem(checkpoint)
    if problem:
        raise CheckpointError(f"{path} is not a complete mobilevit training checkpoint: {problem}")
    check_finite(checkpoint["model"], f"{path} (its weights)")
    check_finite(checkpoint["ema"] or {}, f"{path} (its EMA weights)")
    optimizer_state = {
        f"{index}.{name}": value
        for index, state in checkpoint["optimizer"]["state"].items()
        if isinstance(state, Mapping)
        for name, value in state.items()
    }
    check_finite(optimizer_state, f"{path} (its optimizer state)")
    return checkpoint


# The entries of a training checkpoint and the types restore() needs them to have.
_ENTRIES: dict[str, tuple[type, ...]] = {
    "model": (Mapping,),
    "ema": (Mapping, type(None)),
    "optimizer": (Mapping,),
    "scaler": (Mapping,),
    "epoch": (int,),
    "batch_in_epoch": (int,),
    "step": (int,),
    "world_size": (int,),
    "rng": (list,),
    "config": (Mapping,),
}


def _entries_problem(checkpoint: Mapping[str, Any]) -> str | None:
    """What is missing from a training checkpoint or of the wrong type, or None."""
    if "best_score" not in checkpoint and "best_top1" not in checkpoint:  # best_top1: older checkpoints
        return "it has no 'best_score' entry"
    for key, types in _ENTRIES.items():
        if key not in checkpoint:
            return f"it has no {key!r} entry"
        if not isinstance(checkpoint[key], types) or isinstance(checkpoint[key], bool):
            return f"its {key!r} entry is a {type(checkpoint[key]).__name__}"
    for key in ("model", "ema"):
        weights = checkpoint[key] or {}
        if not all(isinstance(value, torch.Tensor) for value in weights.values()):
            return f"its {key!r} entry holds values that are not tensors"
    if not {"state", "param_groups"} <= set(checkpoint["optimizer"]):
        return "its 'optimizer' entry has no 'state' and 'param_groups'"
    rng = checkpoint["rng"]
    if len(rng) != checkpoint["world_size"] or not all(
        isinstance(state, Mapping) and isinstance(state.get("cpu"), torch.Tensor) for state in rng
    ):
        return (
            f"its 'rng' entry is not one random state (with 'cpu') for each of its "
            f"{checkpoint['world_size']} process(es)"
        )
    return None


def find_resume_checkpoint(
    work_dir: Path,
    resume: str | os.PathLike | None,
    auto_resume: bool,
    log: Callable[[str], None],
) -> tuple[Path, dict[str, Any]] | None:
    """The checkpoint a run continues from, read and verified, or None for a fresh start.

    ``resume`` names it; without, ``<work_dir>/latest.pth`` when it exists and ``auto_resume`` is
    on. A damaged ``latest.pth`` is reported through ``log`` and the newest intact
    ``epoch_<n>.pth`` taken instead; where there is none, the run stops with the reason.
    """
    if resume is not None:
        return Path(resume), read_training_checkpoint(resume)
    latest = work_dir / "latest.pth"
    if not auto_resume or not latest.is_file():
        return None
    try:
        return latest, read_training_checkpoint(latest)
    except CheckpointError as error:
        damage = error
    for path in _epoch_checkpoints(work_dir)[::-1]:
        try:
            checkpoint = read_training_checkpoint(path)
        except CheckpointError as error:
            log(f"cannot resume from {path.name} either: {error}")
            continue
        log(
            f"cannot resume from latest.pth: {damage}; resuming from {path}, the newest intact epoch "
            "checkpoint, instead"
        )
        return path, checkpoint
    raise CheckpointError(
        f"cannot resume: {damage}; and {work_dir} holds no intact epoch_<n>.pth to fall back to. Move "
        f"{latest} away to start afresh, or pass --resume with another checkpoint"
    ) from None


def _epoch_checkpoints(work_dir: Path) -> list[Path]:
    """The ``epoch_<n>.pth`` files of a work dir, oldest first."""
    epochs = sorted(
        (int(match.group(1)), path)
        for path in work_dir.glob("epoch_*.pth")
        if (match := re.fullmatch(r"epoch_(\d+)\.pth", path.name))
    )
    return [path for _, path in epochs]


def restore(
    checkpoint: dict[str, Any],
    run: TrainingRun,
    context: DistributedContext,
    source: str | os.PathLike = "the checkpoint",
) -> None:
    """Load a training checkpoint (read from ``source``) into the objects of a run, ``run.state``
    included. A part that does not fit the run is a :class:`CheckpointError` naming it.

    Random states are restored when the number of processes is the one the checkpoint was made with.
    """

    def load(part: str, action: Callable[[], Any]) -> None:
        try:
            action()
        except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as error:
            reason = " ".join(str(error).split()) or type(error).__name__
            raise CheckpointError(f"{source}: cannot load its {part} into this run: {reason}") from None

    load("model weights", lambda: run.model.load_state_dict(checkpoint["model"]))
    if run.ema is not None:
        load(
            "EMA weights",
            lambda: run.ema.module.load_state_dict(
                checkpoint["ema"] if checkpoint["ema"] is not None else checkpoint["model"]
            ),
        )
    load("optimizer state", lambda: _load_optimizer(run.optimizer, checkpoint["optimizer"]))
    load("gradient scaler state", lambda: run.scaler.load_state_dict(checkpoint["scaler"]))
    if checkpoint["world_size"] == context.world_size:
        own = checkpoint["rng"][context.rank]
        load("random state", lambda: torch.set_rng_state(own["cpu"]))
        if "cuda" in own and context.device.type == "cuda":
            load("CUDA random state", lambda: torch.cuda.set_rng_state(own["cuda"], context.device))
    best = checkpoint["best_score"] if "best_score" in checkpoint else checkpoint["best_top1"]  # older checkpoints
    run.state = TrainState(checkpoint["epoch"], checkpoint["batch_in_epoch"], checkpoint["step"], best)


def _load_optimizer(optimizer: torch.optim.Optimizer, state_dict: Mapping[str, Any]) -> None:
    """``optimizer.load_state_dict``, then check that each parameter's state tensors have its shape
    (torch would only fail at the next step)."""
    optimizer.load_state_dict(state_dict)
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            for name, value in optimizer.state.get(parameter, {}).items():
                if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape != parameter.shape:
                    raise UsageError(
                        f"{name} has the shape {tuple(value.shape)} for a parameter of {tuple(parameter.shape)}"
                    )


def check_same_model(checkpoint: Mapping[str, Any], model: nn.Module, config: Mapping[str, Any], path: Path) -> None:
    """Refuse, in one line, to resume from the checkpoint of another model (arch or class count)
    than the one ``config`` (the run's resolved config) builds."""
    ours = model.state_dict()
    theirs = checkpoint["model"]
    if theirs.keys() == ours.keys() and all(theirs[key].shape == ours[key].shape for key in ours):
        return
    saved = checkpoint.get("config", {}).get("model", {})
    differences = [
        f"{key} {saved[key]!r} where this run has {config['model'][key]!r}"
        for key in ("arch", "num_classes")
        if key in saved and saved[key] != config["model"][key]
    ]
    if not differences:
        key = next(
            key
            for key in sorted(set(ours) | set(theirs))
            if key not in ours or key not in theirs or ours[key].shape != theirs[key].shape
        )
        differences = [
            f"{key} is {describe_shape(theirs.get(key))} where this run's model has {describe_shape(ours.get(key))}"
        ]
    raise UsageError(
        f"{path} is a checkpoint of another model ({'; '.join(differences)}), so this run cannot resume from it. "
        f"To start fresh, train into another work dir (--work-dir) or move {path} away"
    )
