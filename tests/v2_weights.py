"""Images shared by the MobileViT v2 parity tests (their weights: reference_weights.lively_state_dict)."""

import torch


def images(size):
    """Two images of waves of a different mean and frequency per channel, plus noise, and as a
    third the first with its channels reversed (which changes the picture a lot)."""
    y, x = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    waves = torch.stack([0.8 + 0.2 * torch.sin(12 * x), 0.5 + 0.3 * torch.cos(9 * y), 0.1 + 0.1 * torch.sin(20 * x)])
    noise = 0.05 * torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(size))
    batch = (waves + noise).clamp(0, 1)
    batch[1] = batch[1].flip(-1)
    return torch.cat([batch, batch[:1].flip(1)])
