"""SSDLite on the MobileViT v2 backbone: ml-cvnets' parameter counts, the maps the head reads, its layout."""

import re

import pytest
import torch

from mobilevit.checkpoint import CheckpointError, load_checkpoint
from mobilevit.convert import detect_layout
from mobilevit.models import MobileViTV2, build_ssdlite
from mobilevit.models.ssdlite import grid_sizes
from v2_weights import OURS_TO_CVNETS_V2_BACKBONE


# ml-cvnets' model zoo, derived counts of the facts sheet (4.2): COCO, 81 classes
@pytest.mark.parametrize(
    "arch, params_m",
    [("v2_050", 2.04), ("v2_075", 3.58), ("v2_100", 5.61), ("v2_125", 8.17), ("v2_150", 11.28), ("v2_200", 19.11)],
)
def test_ssdlite_parameter_counts_are_ml_cvnets(arch, params_m):
    with torch.device("meta"):
        model = build_ssdlite(arch)
    assert round(sum(param.numel() for param in model.parameters()) / 1e6, 2) == params_m
    assert isinstance(model.backbone, MobileViTV2) and model.backbone.conv_1x1_exp is None


def test_v2_ssdlite_reads_stages_four_and_five_and_detects():
    model = build_ssdlite("v2_050").eval()
    assert model.backbone.out_channels[:2] == [192, 256]  # stride 16 and 32 maps of width 0.5
    with torch.no_grad():
        levels = model.backbone(torch.rand(1, 3, 320, 320))
        assert [tuple(level.shape[-2:]) for level in levels.values()] == grid_sizes(320, "v2_050")
        raw = model(torch.rand(2, 3, 320, 320))
        assert raw["cls_logits"].shape == (2, len(model.box_coding.anchors), 81)
        (detections,) = model.detect([torch.rand(3, 240, 300)])
    assert set(detections) == {"boxes", "scores", "labels"} and detections["boxes"].shape[1] == 4


# ours -> ml-cvnets, from the key templates of the facts sheet (3.1 and 4.3), applied in order
OURS_TO_CVNETS_SSD = [
    *OURS_TO_CVNETS_V2_BACKBONE,
    (r"^backbone\.extra_layers\.3\.1\.conv\.", "extra_layers.os_-1.1.block.conv."),
    (r"^backbone\.extra_layers\.(\d)\.depthwise\.", r"extra_layers.os_\1.dw_conv.block."),
    (r"^backbone\.extra_layers\.(\d)\.pointwise\.", r"extra_layers.os_\1.pw_conv.block."),
    (r"^head\.levels\.(\d)\.projection\.", r"ssd_heads.\1.proj_layer.block."),
    (r"^head\.levels\.(\d)\.predictor\.depthwise\.", r"ssd_heads.\1.loc_cls_layer.dw_conv.block."),
    (r"^head\.levels\.(\d)\.predictor\.pointwise\.", r"ssd_heads.\1.loc_cls_layer.pw_conv.block."),
    (r"^head\.levels\.(\d)\.predictor\.", r"ssd_heads.\1.loc_cls_layer.block."),
    (r"\.bn\.", ".norm."),
]


def to_cvnets_ssd(state_dict):
    result = {}
    for key, value in state_dict.items():
        for pattern, replacement in OURS_TO_CVNETS_SSD:
            key = re.sub(pattern, replacement, key)
        key = re.sub(r"layer_(\d)", lambda m: f"layer_{int(m[1]) + 1}", key)  # ml-cvnets counts from one
        key = re.sub(r"os_(\d)\.", lambda m: f"os_{64 * 2 ** int(m[1])}.", key)  # extra layers by stride
        result[key] = value
    assert len(result) == len(state_dict)
    return result


def test_an_ml_cvnets_v2_ssdlite_loads_key_for_key(tmp_path):
    source = build_ssdlite("v2_050").eval()
    cvnets = to_cvnets_ssd(source.state_dict())
    assert "encoder.layer_5.1.global_rep.3.weight" in cvnets and "extra_layers.os_256.pw_conv.block.norm.bias" in cvnets
    assert "ssd_heads.5.loc_cls_layer.block.conv.weight" in cvnets
    assert detect_layout(cvnets) == "cvnets_v2_ssd"
    torch.save(cvnets, tmp_path / "coco-ssd-mobilevitv2-0.5.pt")
    model = build_ssdlite("v2_050")
    assert load_checkpoint(model, tmp_path / "coco-ssd-mobilevitv2-0.5.pt").layout == "cvnets_v2_ssd"
    ours = source.state_dict()
    assert all(torch.equal(value, ours[key]) for key, value in model.state_dict().items())


def test_an_ml_cvnets_v2_file_of_another_head_names_the_heads_read():
    cvnets = {"encoder.layer_3.1.global_rep.0.pre_norm_attn.1.qkv_proj.block.conv.weight": torch.zeros(1)}
    with pytest.raises(CheckpointError, match=r"none of the heads read: expected ssd_heads.*seg_head.aspp.*psp_layer"):
        detect_layout({**cvnets, "seg_head.simple_head.block.conv.weight": torch.zeros(1)})


@pytest.mark.parametrize("size", [160, 224])
def test_anchors_follow_the_v2_blocks_even_maps(size):
    """At 160 the stride-32 map is 5x5 by conv arithmetic, and 6x6 once the v2 block resizes it."""
    model = build_ssdlite("v2_050", image_size=size).eval()
    with torch.no_grad():
        levels = model.backbone(torch.rand(1, 3, size, size))
        assert [tuple(level.shape[-2:]) for level in levels.values()] == grid_sizes(size, "v2_050")
        raw = model(torch.rand(2, 3, size, size))
    assert raw["cls_logits"].shape[1] == len(model.box_coding.anchors)
