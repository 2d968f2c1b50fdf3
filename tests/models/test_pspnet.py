"""PSPNet on either backbone family: ml-cvnets' parameter counts, shapes, the segmenter interface."""

import pytest
import torch
from torch import nn

from mobilevit.checkpoint import save_checkpoint
from mobilevit.cli import main
from mobilevit.models import DeepLabV3, PSPNet, PSPNetHead, build_pspnet
from mobilevit.models.pspnet import PyramidPool
from mobilevit.tasks import SEGMENTATION


# ml-cvnets' model zoo, derived counts of the facts sheet (4.2): (arch, classes, output stride, millions)
@pytest.mark.parametrize(
    "arch, num_classes, output_stride, params_m",
    [
        ("v2_050", 21, 16, 3.55),
        ("v2_075", 21, 16, 6.18),
        ("v2_100", 21, 16, 9.38),
        ("v2_125", 21, 16, 13.16),
        ("v2_150", 21, 16, 17.51),
        ("v2_050", 150, 8, 3.62),
        ("v2_100", 150, 8, 9.45),
        ("v2_175", 150, 8, 22.49),
    ],
)
def test_pspnet_parameter_counts_are_ml_cvnets(arch, num_classes, output_stride, params_m):
    with torch.device("meta"):
        model = build_pspnet(arch, num_classes, output_stride)
    assert round(sum(param.numel() for param in model.parameters()) / 1e6, 2) == params_m


def test_pyramid_reduces_to_a_quarter_floored_to_sixteen_and_fuses_to_512():
    head = PSPNetHead(384, 21)
    assert [level[1].conv.out_channels for level in head.pyramid] == [96] * 4
    assert [level[0].output_size for level in head.pyramid] == [1, 2, 3, 6]
    assert head.fusion.conv.in_channels == 384 + 4 * 96 and head.fusion.conv.kernel_size == (3, 3)
    assert isinstance(head.dropout, nn.Dropout2d) and head.classifier.bias is not None
    assert PSPNetHead(200, 2).pyramid[0][1].conv.out_channels == 48


@pytest.mark.parametrize("arch", ["v2_050", "xx_small"])
def test_pspnet_segments_at_the_input_size_on_either_family(arch):
    model = build_pspnet(arch, num_classes=4, output_stride=8).eval()
    assert isinstance(model, PSPNet) and isinstance(model, DeepLabV3)  # the segmenter interface
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        assert model.forward_low_res(x).shape == (1, 4, 8, 12)
        logits = model(x)
        scores, mask = model.predict(x)
        assert logits.shape == (1, 4, 64, 96) and mask.shape == (1, 64, 96)
        assert torch.allclose(model.fuse()(x), logits, atol=1e-4)


def test_every_parameter_gets_a_gradient():
    model = build_pspnet("v2_050", num_classes=3).train()
    model(torch.rand(2, 3, 64, 64)).sum().backward()
    assert all(param.grad is not None for param in model.parameters())


@pytest.mark.parametrize("size", [1, 2, 3, 6])
def test_the_pyramid_pool_is_adaptive_average_pooling(size):
    for height, width in [(4, 4), (5, 7), (13, 9), (2, 3), (16, 16)]:
        x = torch.randn(2, 3, height, width)
        torch.testing.assert_close(PyramidPool(size)(x), nn.AdaptiveAvgPool2d(size)(x), rtol=0, atol=1e-6)


def test_a_pspnet_exports_to_onnx_with_free_height_and_width(tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    model = build_pspnet("xx_small", num_classes=3).eval()
    settings = SEGMENTATION.settings_of(model)
    save_checkpoint(tmp_path / "psp.safetensors", model.state_dict(), "xx_small", task="segmentation", **settings)
    onnx_path = tmp_path / "psp.onnx"
    assert main(["export", str(tmp_path / "psp.safetensors"), "--dynamic", "--output", str(onnx_path)]) == 0
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    for shape in [(1, 3, 64, 64), (2, 3, 80, 112)]:  # stage 5 maps of 4x4 and 5x7: uneven windows at 3 and 6
        x = torch.rand(*shape)
        (found,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
        with torch.no_grad():
            torch.testing.assert_close(torch.from_numpy(found), model(x), rtol=0, atol=1e-4)
