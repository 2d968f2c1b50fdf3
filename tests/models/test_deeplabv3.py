"""The DeepLabv3 segmenter: the published parameter counts, output sizes, prediction."""

import pytest
import torch

from mobilevit.models import DeepLabV3, MobileViT, build_segmenter

# Hugging Face's MobileViTForSemanticSegmentation with 21 classes (dense-tasks.md, section 1.2).
PARAMETERS = {
    "small": (6_357_941, 4_833_952, 1_523_989),
    "x_small": (2_944_069, 1_895_216, 1_048_853),
    "xx_small": (1_854_853, 924_784, 930_069),
}


def count(module: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())


@pytest.mark.parametrize("arch", list(PARAMETERS))
def test_parameter_counts_are_the_published_models(arch):
    with torch.device("meta"):
        model = build_segmenter(arch, num_classes=21)
    assert (count(model), count(model.backbone), count(model.head)) == PARAMETERS[arch]


@pytest.mark.parametrize("output_stride", [16, 8])
def test_logits_come_at_the_input_size_and_at_one_over_the_output_stride(output_stride):
    model = build_segmenter("xx_small", num_classes=5, output_stride=output_stride).eval()
    image = torch.rand(2, 3, 100, 75)
    with torch.no_grad():
        low = model.forward_low_res(image)
        full = model(image)
    assert low.shape == (2, 5, -(-100 // output_stride), -(-75 // output_stride))
    assert full.shape == (2, 5, 100, 75)
    expected = torch.nn.functional.interpolate(low, size=(100, 75), mode="bilinear", align_corners=False)
    torch.testing.assert_close(full, expected)


def test_predict_gives_scores_and_the_mask_at_a_chosen_size():
    model = build_segmenter("xx_small", num_classes=3).eval()
    image = torch.rand(1, 3, 64, 48)
    scores, mask = model.predict(image)
    assert scores.shape == (1, 3, 64, 48) and mask.shape == (1, 64, 48)
    torch.testing.assert_close(scores.sum(dim=1), torch.ones(1, 64, 48))
    assert torch.equal(mask, model(image).argmax(dim=1))
    scores, mask = model.predict(image, size=(30, 20))
    assert scores.shape == (1, 3, 30, 20) and mask.shape == (1, 30, 20)


def test_head_has_the_published_dropouts_and_a_biased_classifier():
    head = build_segmenter("xx_small").head
    assert head.aspp.project[3].p == 0.1 and isinstance(head.dropout, torch.nn.Dropout2d) and head.dropout.p == 0.1
    assert head.classifier.bias is not None and head.classifier.kernel_size == (1, 1)
    rates = [branch[0].dilation for branch in head.aspp.convs[1:4]]
    assert rates == [(6, 6), (12, 12), (18, 18)]


def test_training_step_reaches_every_parameter():
    model = build_segmenter("xx_small", num_classes=4).train()
    logits = model(torch.rand(2, 3, 64, 64))
    torch.nn.functional.cross_entropy(logits, torch.randint(0, 4, (2, 64, 64))).backward()
    assert all(parameter.grad is not None for parameter in model.parameters())


def test_fused_model_gives_the_same_logits():
    model = build_segmenter("xx_small", num_classes=3).eval()
    image = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        expected = model(image)
        torch.testing.assert_close(model.fuse()(image), expected, atol=1e-4, rtol=0)


def test_a_classification_backbone_is_refused():
    with pytest.raises(ValueError, match="before conv_1x1_exp"):
        DeepLabV3(MobileViT("xx_small", output_stride=16))
    with pytest.raises(ValueError, match="num_classes"):
        build_segmenter("xx_small", num_classes=0)
