"""Deterministic weights and input shared by the parity tests and the fixture generators.

Built from closed-form formulas rather than a random generator, so the same tensors come out
in any environment and any torch version.
"""

import torch


def _wave(numel: int, phase: float) -> torch.Tensor:
    index = torch.arange(numel, dtype=torch.float64)
    return torch.sin(index * 0.7368 + phase)


def deterministic_state_dict(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Replace every floating tensor by a fixed pattern; running variances stay positive."""
    result = {}
    for position, (name, value) in enumerate(state_dict.items()):
        if not value.dtype.is_floating_point:
            result[name] = value.clone()
            continue
        wave = _wave(value.numel(), phase=position * 0.131).reshape(value.shape)
        if name.endswith("running_var"):
            wave = 0.5 + wave.abs()
        elif name.endswith(("bn.weight", "ln1.weight", "ln2.weight")) or (name.endswith("weight") and value.ndim == 1):
            wave = 1.0 + 0.2 * wave
        else:
            wave = 0.1 * wave
        result[name] = wave.to(value.dtype)
    return result


def deterministic_input(batch: int = 2, height: int = 250, width: int = 333) -> torch.Tensor:
    """A (batch, 3, height, width) image batch in [0, 1]."""
    return (0.5 + 0.5 * _wave(batch * 3 * height * width, phase=0.3)).reshape(batch, 3, height, width).float()
