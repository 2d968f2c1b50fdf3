"""Loading checkpoints into our models."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a state dict from a local checkpoint without executing any pickled code.

    Accepts a bare state dict or mmpretrain's ``{'meta': ..., 'state_dict': ...}``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("state_dict"), dict):
        checkpoint = checkpoint["state_dict"]
    if not isinstance(checkpoint, dict) or not all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise ValueError(f"{path} does not hold a state dict of tensors")
    return checkpoint


def load_checkpoint(model: nn.Module, path: str | os.PathLike) -> None:
    """Load a checkpoint into ``model`` with strict key and shape matching."""
    state_dict = read_state_dict(path)
    ours = model.state_dict()
    missing = sorted(set(ours) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(ours))
    mismatched = [
        f"{key}: checkpoint {tuple(state_dict[key].shape)}, model {tuple(ours[key].shape)}"
        for key in ours if key in state_dict and state_dict[key].shape != ours[key].shape
    ]
    if missing or unexpected or mismatched:
        raise ValueError(
            f"checkpoint {path} does not match the model: "
            f"{len(missing)} missing keys {missing[:5]}, {len(unexpected)} unexpected keys {unexpected[:5]}, "
            f"{len(mismatched)} shape mismatches {mismatched[:5]}")
    model.load_state_dict(state_dict)
