"""Contract tests of the MobileViT backbone: shapes, strides, freezing, arch tables, errors."""

import pytest
import torch
from torch import nn

from arch_table import ARCH_NAMES, PUBLISHED
from mobilevit.models import MobileNetV2Stage, MobileViT, MobileViTStage


@pytest.mark.parametrize("arch", ARCH_NAMES)
@pytest.mark.parametrize("size", [(224, 224), (250, 333), (64, 64), (320, 192)])
def test_all_stage_outputs_have_their_strides(arch, size):
    backbone = MobileViT(arch, out_indices=(0, 1, 2, 3, 4)).eval()
    with torch.no_grad():
        outs = backbone(torch.rand(1, 3, *size))
    assert len(outs) == 5
    height, width = size
    for index, (feature, channels) in enumerate(zip(outs, PUBLISHED[arch].stage_channels)):
        stride = 2 ** (index + 1)
        # every stride-2 convolution with padding 1 maps n to ceil(n / 2)
        expected_h, expected_w = height, width
        for _ in range(index + 1):
            expected_h, expected_w = (expected_h + 1) // 2, (expected_w + 1) // 2
        assert feature.shape == (1, channels, expected_h, expected_w), (index, stride)


def test_out_indices_select_and_accept_negative():
    backbone = MobileViT("xx_small", out_indices=(-1, 2)).eval()
    assert backbone.out_indices == (4, 2)
    outs = backbone(torch.rand(2, 3, 96, 96))
    assert [o.shape[1] for o in outs] == [48, 320]  # returned in stage order


@pytest.mark.parametrize("bad", [(5,), (-6,), ()])
def test_bad_out_indices_are_refused(bad):
    with pytest.raises(ValueError, match="out_indices"):
        MobileViT("xx_small", out_indices=bad)


def test_unknown_arch_lists_the_valid_ones():
    with pytest.raises(ValueError, match="small, x_small, xx_small"):
        MobileViT("medium")


def test_custom_arch_from_dataclasses_and_lists():
    dataclass_arch = [
        MobileNetV2Stage(out_channels=8, stride=1, num_blocks=1, expand_ratio=2),
        MobileViTStage(out_channels=16, stride=2, transformer_dim=32, ffn_dim=64, depth=1, expand_ratio=2),
    ]
    list_arch = [["mobilenetv2", 8, 1, 1, 2], ["mobilevit", 16, 2, 32, 64, 1, 2]]
    a, b = MobileViT(dataclass_arch), MobileViT(list_arch)
    assert a.arch == b.arch
    assert b(torch.rand(1, 3, 40, 40))[0].shape == (1, 64, 10, 10)
    with pytest.raises(ValueError, match="cannot read arch stage"):
        MobileViT([["transformer", 8]])


@pytest.mark.parametrize("frozen", [0, 2, 5])
def test_frozen_stages_stay_frozen_and_in_eval(frozen):
    backbone = MobileViT("xx_small", frozen_stages=frozen)
    backbone.train()
    frozen_modules = [backbone.stem, *backbone.layers[:frozen]]
    for module in frozen_modules:
        assert not module.training
        assert all(not p.requires_grad for p in module.parameters())
    for module in backbone.layers[frozen:]:
        assert module.training
        assert all(p.requires_grad for p in module.parameters())
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    backbone(torch.rand(2, 3, 64, 64))[0].sum().backward()
    after = backbone.state_dict()
    stem_keys = [k for k in before if k.startswith("stem.")]
    assert all(torch.equal(before[k], after[k]) for k in stem_keys)  # BN running stats untouched
    assert backbone.stem.conv.weight.grad is None


def test_frozen_stages_out_of_range():
    with pytest.raises(ValueError, match="frozen_stages"):
        MobileViT("xx_small", frozen_stages=6)


def test_norm_eval_keeps_batchnorm_in_eval():
    backbone = MobileViT("xx_small", norm_eval=True).train()
    norms = [m for m in backbone.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms and all(not m.training for m in norms)
    assert any(m.training for m in backbone.modules() if isinstance(m, nn.LayerNorm))


@pytest.mark.parametrize(
    "bad_input, message",
    [
        (torch.rand(3, 224, 224), r"\(B, 3, H, W\)"),
        (torch.rand(1, 1, 64, 64), r"got \(1, 1, 64, 64\)"),
        ("an image", "torch.Tensor"),
    ],
)
def test_bad_input_names_the_expected_shape(bad_input, message):
    with pytest.raises((ValueError, TypeError), match=message):
        MobileViT("xx_small")(bad_input)


def test_unfold_and_fold_are_inverse():
    block = MobileViT("xx_small").layers[2][1]
    x = torch.rand(2, 48, 8, 12)
    tokens = block.unfold(x)
    assert tokens.shape == (2 * 4, 4 * 6, 48)
    assert torch.equal(block.fold(tokens, 2, 8, 12), x)
