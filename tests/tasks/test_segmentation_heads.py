"""The segmentation task's two heads (``model.head``: DeepLabv3, PSPNet) on either backbone family,
and its training-only auxiliary head: built from a config, recognised from weights, converted,
predicted with; the auxiliary head in training alone."""

import pytest
import torch
import torch.nn.functional as F

import mobilevit
from mobilevit.checkpoint import read_checkpoint, save_checkpoint
from mobilevit.cli import main
from mobilevit.config import Config, ConfigError, ModelConfig, config_from_dict, to_dict
from mobilevit.data.segmentation import SegmentationBatch
from mobilevit.models import DeepLabV3, PSPNet, build_pspnet, build_segmenter
from mobilevit.models.deeplabv3 import SegmentationOutput
from mobilevit.tasks import SEGMENTATION, task_for_weights
from reference_weights import lively_state_dict

# a v1 arch whose last stage is wide enough for PSPNet's pyramid (16 channels per level at least)
PSP_ARCH = [["mobilenetv2", 8, 1, 1, 2], ["mobilenetv2", 16, 2, 1, 2], ["mobilevit", 64, 2, 32, 64, 1, 2]]


def lively(model):
    model.load_state_dict(lively_state_dict(model.state_dict(), "head.classifier.weight"))
    return model.eval()


def segmentation_config(**model):
    return config_from_dict(
        {"task": "segmentation", "data": {"kind": "pairs"}, "model": {"arch": PSP_ARCH, "num_classes": 3, **model}}
    )


@pytest.mark.parametrize("arch", ["xx_small", "v2_050"])
def test_a_pspnet_file_is_recognised_built_and_predicts_alone(arch, tmp_path):
    source = lively(build_pspnet(arch, num_classes=4))
    assert task_for_weights(source.state_dict()) is SEGMENTATION
    torch.save(source.state_dict(), tmp_path / "pspnet.pth")
    model = mobilevit.init_model(tmp_path / "pspnet.pth")
    assert isinstance(model, PSPNet) and model.num_classes == 4
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), source(x), rtol=0, atol=1e-5)
    result = mobilevit.inference_model(model, (255 * torch.rand(40, 50, 3)).byte().numpy())
    assert result["pred_mask"].shape == (40, 50) and result["pred_scores"].shape == (4, 40, 50)


def test_a_pspnet_file_keeps_its_output_stride_and_pool_sizes(tmp_path, capsys):
    source = lively(build_pspnet(PSP_ARCH, num_classes=3, output_stride=8, pool_sizes=(1, 2, 4)))
    settings = SEGMENTATION.settings_of(source)
    assert settings == {"output_stride": 8, "align_corners": False, "pool_sizes": [1, 2, 4]}
    save_checkpoint(tmp_path / "psp.safetensors", source.state_dict(), PSP_ARCH, task="segmentation", **settings)
    assert main(["convert", str(tmp_path / "psp.safetensors"), str(tmp_path / "again.safetensors")]) == 0
    assert read_checkpoint(tmp_path / "again.safetensors").metadata["pool_sizes"] == [1, 2, 4]
    model = mobilevit.init_model(tmp_path / "again.safetensors")
    assert model.backbone.output_stride == 8 and SEGMENTATION.settings_of(model) == settings
    x = torch.rand(2, 3, 48, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), source(x), rtol=0, atol=1e-5)


def test_model_head_picks_the_head_and_its_settings():
    pspnet = SEGMENTATION.build_model(
        segmentation_config(head="pspnet", psp_channels=32, pool_sizes=(1, 3), dropout=0.1)
    )
    assert isinstance(pspnet, PSPNet) and pspnet.head.fusion.conv.out_channels == 32
    assert SEGMENTATION.settings_of(pspnet) == {"output_stride": 16, "align_corners": False, "pool_sizes": [1, 3]}
    deeplabv3 = SEGMENTATION.build_model(segmentation_config(aspp_channels=16, atrous_rates=(1, 2, 3)))
    assert type(deeplabv3) is DeepLabV3 and deeplabv3.head.aspp.project[0].out_channels == 16
    assert to_dict(segmentation_config(head="pspnet"))["model"]["head"] == "pspnet"
    with pytest.raises(ConfigError, match=r"model.head must be one of 'deeplabv3', 'pspnet', got 'unet'"):
        segmentation_config(head="unet")
    with pytest.raises(ConfigError, match=r"model.head is a segmentation setting, and this config's task is 'classif"):
        config_from_dict({"model": {"head": "pspnet"}})
    with pytest.raises(ConfigError, match=r"model.aux_loss_weight must be 0 \(no auxiliary head\) or more"):
        segmentation_config(aux_loss_weight=-1)


@pytest.mark.parametrize("head", ["deeplabv3", "pspnet"])
def test_the_auxiliary_head_exists_in_training_only(head):
    config = segmentation_config(head=head, aux_loss_weight=0.4)
    for_inference = SEGMENTATION.build_model(config)
    trained = SEGMENTATION.build_model(config, training=True)
    assert for_inference.aux_head is None and trained.aux_head is not None
    extra = {key for key in trained.state_dict()} - set(for_inference.state_dict())
    assert extra and all(key.startswith("aux_head.") for key in extra)
    # ml-cvnets': a 3x3 conv to max(channels // 4, 128) on the next-to-last stage, Dropout2d, 1x1 to the classes
    assert trained.aux_head[0].conv.in_channels == 16 and trained.aux_head[0].conv.out_channels == 128
    assert isinstance(trained.aux_head[1], torch.nn.Dropout2d) and trained.aux_head[2].out_channels == 3

    x = torch.rand(2, 3, 64, 64)
    output = trained.train()(x)
    assert isinstance(output, SegmentationOutput) and output.logits.shape == (2, 3, 64, 64)
    assert output.aux_logits.shape == (2, 3, 16, 16)  # at the next-to-last stage's stride, 4
    output.logits.sum().backward()
    with torch.no_grad():
        assert trained.eval()(x).shape == (2, 3, 64, 64)  # no auxiliary output once trained


def test_the_loss_adds_the_weighted_auxiliary_loss():
    config = segmentation_config(aux_loss_weight=0.4)
    logits, aux_logits = torch.randn(2, 3, 16, 16), torch.randn(2, 3, 4, 4)
    masks = torch.randint(0, 3, (2, 16, 16))
    masks[0, :4] = 255
    batch = SegmentationBatch(torch.zeros(2, 3, 16, 16), masks, [])
    loss = SEGMENTATION.loss_function(config)
    resized = F.interpolate(aux_logits, size=(16, 16), mode="bilinear", align_corners=True)
    expected = F.cross_entropy(logits, masks, ignore_index=255) + 0.4 * F.cross_entropy(
        resized, masks, ignore_index=255
    )
    torch.testing.assert_close(loss(SegmentationOutput(logits, aux_logits), batch), expected)
    torch.testing.assert_close(loss(logits, batch), F.cross_entropy(logits, masks, ignore_index=255))


def test_a_checkpoint_with_an_auxiliary_head_loads_into_a_model_for_inference(tmp_path):
    trained = lively(build_segmenter("v2_050", num_classes=21, aux_head=True))
    torch.save(trained.state_dict(), tmp_path / "trained.pth")
    model = mobilevit.init_model(tmp_path / "trained.pth")
    assert model.aux_head is None
    # ml-cvnets' published count, which leaves the auxiliary head out (facts sheet 4.2: 6.24 M)
    assert round(sum(parameter.numel() for parameter in model.parameters()) / 1e6, 2) == 6.24
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), trained(x), rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="the auxiliary head reads stage 3: build the backbone with it in out_indices"):
        DeepLabV3(build_segmenter("v2_050").backbone, aux_head=True)


def test_the_config_defaults_are_the_published_v1_deeplabv3():
    assert (ModelConfig().head, ModelConfig().aux_loss_weight) == ("deeplabv3", 0.0)
    assert Config().model.pool_sizes == (1, 2, 3, 6) and Config().model.psp_channels == 512
