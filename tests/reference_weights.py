"""Deterministic weights and input shared by the parity tests and the fixture generators.

Built from a closed-form hash rather than a random generator, so the same tensors come out in
any environment and any torch version. Weights are scaled by fan-in so that the logits depend
strongly on the input (a parity test over an input-blind network would prove little).
"""

import math

import torch


def _hash_noise(numel: int, phase: float) -> torch.Tensor:
    """Values spread over [-1, 1), deterministic for (numel, phase)."""
    index = torch.arange(numel, dtype=torch.float64)
    return 2.0 * torch.frac(torch.sin(index * 12.9898 + phase).abs() * 43758.5453) - 1.0


def deterministic_state_dict(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Replace every floating tensor by a fixed pattern of sensible scale."""
    result = {}
    for position, (name, value) in enumerate(state_dict.items()):
        if not value.dtype.is_floating_point:
            result[name] = value.clone()
            continue
        noise = _hash_noise(value.numel(), phase=position * 0.7131).reshape(value.shape)
        if name.endswith("running_var"):
            pattern = 0.5 + noise.abs()
        elif value.ndim == 1 and name.endswith("weight"):  # BatchNorm and LayerNorm scales
            pattern = 1.0 + 0.2 * noise
        elif value.ndim == 1:  # biases and running means
            pattern = 0.1 * noise
        else:  # uniform with variance 2 / fan_in
            pattern = noise * math.sqrt(6.0 / math.prod(value.shape[1:]))
        result[name] = pattern.to(value.dtype)
    return result


def deterministic_input(batch: int = 2, height: int = 250, width: int = 333) -> torch.Tensor:
    """A (batch, 3, height, width) image batch in [0, 1]: smooth gradients plus noise."""
    rows = torch.linspace(0, 1, height, dtype=torch.float64).view(1, 1, height, 1)
    columns = torch.linspace(0, 1, width, dtype=torch.float64).view(1, 1, 1, width)
    channel = torch.arange(3, dtype=torch.float64).view(1, 3, 1, 1)
    image = torch.arange(batch, dtype=torch.float64).view(batch, 1, 1, 1)
    smooth = 0.5 + 0.3 * torch.sin(6 * rows + 4 * columns * (channel + 1) + image)
    noise = 0.2 * _hash_noise(batch * 3 * height * width, phase=0.3).reshape(batch, 3, height, width)
    return (smooth + noise).clamp(0, 1).float()


def lively_state_dict(state_dict, head_weight, seed=0):
    """Random weights that carry the input through every layer (gain 1.5: neither dying nor
    exploding over the depth of these nets); the head is scaled down to keep the logits near 1."""
    generator = torch.Generator().manual_seed(seed)
    result = {}
    for key, value in state_dict.items():
        if not value.dtype.is_floating_point:
            result[key] = value.clone()
        elif key.endswith("running_var"):
            result[key] = 0.5 + 1.5 * torch.rand(value.shape, generator=generator)
        elif key.endswith(("running_mean", "bias")):
            result[key] = 0.1 * torch.randn(value.shape, generator=generator)
        elif value.ndim == 1:  # BatchNorm, LayerNorm and GroupNorm scales
            result[key] = 0.5 + torch.rand(value.shape, generator=generator)
        else:
            gain = 0.15 if key == head_weight else 1.5
            result[key] = gain * torch.randn(value.shape, generator=generator) / math.sqrt(value[0].numel())
    return result
