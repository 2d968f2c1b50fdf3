"""Fine-tuning: the weights a fresh run starts from, the optimizer's parameter groups, the class count.

``model.pretrained`` names a checkpoint (a zoo name, a file, a directory or an http(s) URL, any
layout :mod:`mobilevit.checkpoint` reads, our training checkpoints giving their EMA weights).
:func:`load_pretrained` loads what fits into any model whose backbone is ``backbone.*`` (a
classifier now, a dense-task model later) and reports every key it did not load, with the reason.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import zoo
from ..checkpoint import Checkpoint, CheckpointError, read_checkpoint
from ..config import ModelConfig, OptimConfig
from ..convert import BACKBONE_PREFIXES, infer_arch
from ..download import local_path_advice
from ..errors import UsageError
from ..models import ARCHS, MobileViTStage, resolve_arch

BACKBONE = "backbone."
_LISTED = 12  # keys named per reason in the log; the rest are counted


@dataclass(frozen=True)
class PretrainedReport:
    """What :func:`load_pretrained` loaded from where, and each key it left with the reason.

    ``skipped`` maps a key (the model's or the checkpoint's) to why it was not loaded; the model's
    keys among them keep their initial values.
    """

    source: str
    path: Path
    layout: str
    metadata: dict[str, Any]
    loaded: tuple[str, ...]
    skipped: dict[str, str]
    model_keys: int  # how many tensors the model's state dict has

    def describe(self) -> list[str]:
        """Log lines: what was loaded from where, then the skipped keys grouped by reason."""
        origin = f"{self.source} ({self.path}" if self.source != str(self.path) else f"{self.path} ("
        weights = ""
        if self.layout == "training":
            which = "EMA weights" if self.metadata.get("weights") == "ema" else "weights"
            weights = f", {which} of epoch {self.metadata.get('epoch')}, step {self.metadata.get('step')}"
        rest = "; the others keep their initial values" if len(self.loaded) < self.model_keys else ""
        lines = [
            f"pretrained: loaded {len(self.loaded)} of the model's {self.model_keys} tensors from "
            f"{origin}{self.layout} layout{weights}){rest}"
        ]
        by_reason: dict[str, list[str]] = {}
        for key, reason in self.skipped.items():
            by_reason.setdefault(reason.split(":")[0], []).append(
                f"{key} ({reason.split(': ', 1)[1]})" if ": " in reason else key
            )
        for reason, keys in by_reason.items():
            more = f" and {len(keys) - _LISTED} more" if len(keys) > _LISTED else ""
            lines.append(f"pretrained: skipped {len(keys)} ({reason}): {', '.join(keys[:_LISTED])}{more}")
        return lines


def resolve_pretrained(source: str | os.PathLike) -> str:
    """The checkpoint of ``source``: a zoo name's official weights (URL), else the path or URL itself."""
    source = str(source)
    return zoo.get_record(source).url if source in zoo.MODELS else source


def load_pretrained(model: nn.Module, source: str | os.PathLike | Checkpoint, keys: str = "") -> PretrainedReport:
    """Load the weights of checkpoint ``source`` (see :func:`resolve_pretrained`, or one already
    read) into ``model`` where they fit, for fine-tuning.

    ``keys`` is '' (every key of the checkpoint) or a module prefix such as ``'backbone'`` (only
    the keys under it, e.g. the backbone of a segmentation checkpoint for a classifier). Of the
    keys taken, the backbone's must be the model's, every key with its shape: otherwise the
    checkpoint is of another arch, and CheckpointError says so. Elsewhere (the head) a key that
    is absent or of another shape (another class count) stays as initialised.
    """
    if isinstance(source, Checkpoint):
        checkpoint = source
    else:
        with local_path_advice("set model.pretrained={path}"):
            checkpoint = read_checkpoint(resolve_pretrained(source))
    source = str(checkpoint.path) if isinstance(source, Checkpoint) else str(source)
    theirs, ours = checkpoint.state_dict, model.state_dict()
    prefix = f"{keys}." if keys else ""
    if prefix and not any(key.startswith(prefix) for key in ours):
        raise CheckpointError(
            f"model.pretrained_keys={keys!r} names no module of the model; "
            f"its modules are {', '.join(sorted({key.split('.')[0] for key in ours}))}"
        )
    skipped: dict[str, str] = {}
    for key in sorted(set(ours) | set(theirs)):
        if not key.startswith(prefix):
            skipped[key] = f"outside model.pretrained_keys={keys!r}"
        elif key not in theirs:
            skipped[key] = "not in the checkpoint"
        elif key not in ours:
            skipped[key] = "not in the model"
        elif theirs[key].shape != ours[key].shape:
            skipped[key] = f"shape differs: checkpoint {tuple(theirs[key].shape)}, model {tuple(ours[key].shape)}"
    backbone_misfits = [
        f"{key} ({reason})"
        for key, reason in skipped.items()
        if key.startswith(BACKBONE) and key.startswith(prefix) and not _outside_the_stages_on_one_side(key, reason)
    ]
    if backbone_misfits:
        raise CheckpointError(
            f"pretrained checkpoint {source} ({checkpoint.layout} layout) does not fit the model's backbone: "
            f"{len(backbone_misfits)} keys such as {', '.join(backbone_misfits[:5])}.{_arch_hint(theirs, checkpoint.metadata, model)}"
        )
    loaded = {key: value for key, value in theirs.items() if key not in skipped}
    if not loaded:
        raise CheckpointError(f"pretrained checkpoint {source} has no key under {prefix!r} that fits the model")
    model.load_state_dict(loaded, strict=False)
    return PretrainedReport(
        source, checkpoint.path, checkpoint.layout, checkpoint.metadata, tuple(loaded), skipped, len(ours)
    )


def _outside_the_stages_on_one_side(key: str, reason: str) -> bool:
    """Whether ``key`` is a backbone module beyond the MobileViT stages that only one side has: a
    classifier's final 1x1 expansion, which dense backbones are built without, or a detector's
    extra layers. Such keys are skipped between classifiers and dense models; the stages must fit."""
    return not key.startswith(BACKBONE_PREFIXES) and reason in ("not in the model", "not in the checkpoint")


def _arch_hint(state_dict: dict[str, torch.Tensor], metadata: dict[str, Any], model: nn.Module) -> str:
    """Both archs, and how to take the checkpoint's: the arch its config or header records, else the
    named arch its shapes show."""
    recorded = metadata.get("config", {}).get("model", {}).get("arch", metadata.get("arch"))
    try:
        theirs = arch_text(resolve_arch(recorded)) if recorded is not None else infer_arch(state_dict)
    except (CheckpointError, ValueError, TypeError):
        return " Is model.arch the checkpoint's arch? Its shapes match none of the named archs."
    backbone_arch = getattr(getattr(model, "backbone", None), "arch", None)
    ours = f"The model is arch {arch_text(backbone_arch)!r}; the" if backbone_arch is not None else "The"
    return (
        f" {ours} checkpoint's backbone is arch {theirs!r}: set model.arch={theirs} to take the checkpoint's "
        f'arch (on the command line: --cfg-options "model.arch={theirs}")'
    )


def arch_text(stages: Sequence[Any]) -> str:
    """An arch as a config writes it: its name, or its stages as lists (``[['mobilenetv2',16,1,1,2],...]``)."""
    for name, named in ARCHS.items():
        if tuple(stages) == named:
            return name
    rows = [
        ["mobilevit" if isinstance(stage, MobileViTStage) else "mobilenetv2", *dataclasses.astuple(stage)]
        for stage in stages
    ]
    return repr(rows).replace(" ", "")


def parameter_groups(model: nn.Module, optim: OptimConfig) -> list[dict[str, Any]]:
    """The model's trainable parameters as optimizer groups: the backbone's (``backbone.*``) and the
    rest (the head), each with its ``lr_mult``. Frozen parameters (``requires_grad=False``, see
    ``model.frozen_stages``) are left out; an empty group is left out too."""
    members: dict[str, list[nn.Parameter]] = {"backbone": [], "head": []}
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            members["backbone" if name.startswith(BACKBONE) else "head"].append(parameter)
    multipliers = {"backbone": optim.backbone_lr_mult, "head": optim.head_lr_mult}
    return [
        {"name": name, "params": params, "lr": optim.lr * multipliers[name], "lr_mult": multipliers[name]}
        for name, params in members.items()
        if params
    ]


def describe_parameter_groups(model: nn.Module, groups: Sequence[dict[str, Any]]) -> str:
    """One log line: parameters per group and learning rate multiplier, and how many are frozen."""
    total = sum(parameter.numel() for parameter in model.parameters())
    trained = 0
    parts = []
    for group in groups:
        count = sum(parameter.numel() for parameter in group["params"])
        trained += count
        parts.append(f"{group['name']} {count:,} at lr x{group['lr_mult']:g}")
    return f"parameter groups: {', '.join(parts)}; {total - trained:,} of {total:,} parameters frozen"


def fit_to_classes(config: ModelConfig, class_names: Sequence[str], root: str) -> ModelConfig:
    """``config`` with the data set's class names, and its class count where it was left out;
    a class count that differs from the data set's is an error."""
    if config.num_classes is not None and config.num_classes != len(class_names):
        raise UsageError(
            f"the data set under {root} has {len(class_names)} classes but model.num_classes is "
            f"{config.num_classes}; set model.num_classes={len(class_names)} or leave it out"
        )
    return dataclasses.replace(config, num_classes=len(class_names), class_names=tuple(class_names))
