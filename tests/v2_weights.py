"""Images and the ml-cvnets backbone names shared by the MobileViT v2 parity tests (their weights:
reference_weights.lively_state_dict)."""

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


# ours -> ml-cvnets (v0.2 and later) for the v2 backbone under ``encoder.`` (facts sheet 3.1),
# applied in order; each task's test adds its head's names after these
OURS_TO_CVNETS_V2_BACKBONE = [
    (r"^backbone\.stem\.", "encoder.conv_1.block."),
    (r"^backbone\.layers\.(\d+)\.(\d+)\.conv\.0\.", r"encoder.layer_\1.\2.block.exp_1x1.block."),
    (r"^backbone\.layers\.(\d+)\.(\d+)\.conv\.1\.", r"encoder.layer_\1.\2.block.conv_3x3.block."),
    (r"^backbone\.layers\.(\d+)\.(\d+)\.conv\.2\.", r"encoder.layer_\1.\2.block.red_1x1.block."),
    (r"^backbone\.layers\.(\d+)\.1\.local_rep\.(\d)\.", r"encoder.layer_\1.1.local_rep.\2.block."),
    (r"\.global_rep\.(\d+)\.norm1\.", r".global_rep.\1.pre_norm_attn.0."),
    (r"\.global_rep\.(\d+)\.attn\.(qkv_proj|out_proj)\.", r".global_rep.\1.pre_norm_attn.1.\2.block.conv."),
    (r"\.global_rep\.(\d+)\.norm2\.", r".global_rep.\1.pre_norm_ffn.0."),
    (r"\.global_rep\.(\d+)\.ffn\.fc1\.", r".global_rep.\1.pre_norm_ffn.1.block.conv."),
    (r"\.global_rep\.(\d+)\.ffn\.fc2\.", r".global_rep.\1.pre_norm_ffn.3.block.conv."),
    (r"^backbone\.layers\.(\d+)\.1\.", r"encoder.layer_\1.1."),
    (r"\.conv_proj\.", ".conv_proj.block."),
]
