"""Random weights and images shared by the MobileViT v2 parity tests."""

import math

import torch


def lively_state_dict(state_dict, head_weight, seed=0):
    """Random weights that carry the input through every layer; the head scaled to keep logits near 1."""
    generator = torch.Generator().manual_seed(seed)
    result = {}
    for key, value in state_dict.items():
        if not value.dtype.is_floating_point:
            result[key] = value.clone()
        elif key.endswith("running_var"):
            result[key] = 0.5 + 1.5 * torch.rand(value.shape, generator=generator)
        elif key.endswith(("running_mean", "bias")):
            result[key] = 0.1 * torch.randn(value.shape, generator=generator)
        elif value.ndim == 1:  # BatchNorm and GroupNorm scales
            result[key] = 0.5 + torch.rand(value.shape, generator=generator)
        else:
            gain = 0.15 if key == head_weight else 1.5
            result[key] = gain * torch.randn(value.shape, generator=generator) / math.sqrt(value[0].numel())
    return result


def images(size):
    """Two images of waves of a different mean and frequency per channel, plus noise, and as a
    third the first with its channels reversed (which changes the picture a lot)."""
    y, x = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    waves = torch.stack([0.8 + 0.2 * torch.sin(12 * x), 0.5 + 0.3 * torch.cos(9 * y), 0.1 + 0.1 * torch.sin(20 * x)])
    noise = 0.05 * torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(size))
    batch = (waves + noise).clamp(0, 1)
    batch[1] = batch[1].flip(-1)
    return torch.cat([batch, batch[:1].flip(1)])
