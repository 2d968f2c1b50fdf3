"""SSDLite on the MobileViT v2 backbone: ml-cvnets' parameter counts, the maps the head reads."""

import pytest
import torch

from mobilevit.models import MobileViTV2, build_ssdlite
from mobilevit.models.ssdlite import grid_sizes


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
        assert raw["cls_logits"].shape == (2, len(model.box_coding().anchors), 81)
        (detections,) = model([torch.rand(3, 240, 300)])
    assert set(detections) == {"boxes", "scores", "labels"} and detections["boxes"].shape[1] == 4
