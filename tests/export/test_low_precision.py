"""bfloat16 inference in PyTorch: ``init_model(..., dtype=torch.bfloat16)`` keeps a trained model's accuracy."""

import pytest
import torch
from demo_model import argmax_agreement, top1

from mobilevit.apis import init_model, torch_logits

XXS_CONFIG = "configs/mobilevit/mobilevit-xxsmall_8xb128_in1k.py"  # random weights: no download


def test_a_bfloat16_model_takes_float_images():
    model = init_model(XXS_CONFIG, dtype=torch.bfloat16)
    assert next(model.parameters()).dtype == torch.bfloat16
    logits = torch_logits(model)(torch.rand(2, 3, 64, 64))
    assert logits.dtype == torch.float32 and logits.shape == (2, 1000)
    with pytest.raises(ValueError, match="dtype must be a floating point type"):
        init_model(XXS_CONFIG, dtype=torch.int8)


@pytest.mark.slow
def test_bfloat16_keeps_the_accuracy_of_a_trained_model(trained_demo):
    reference = torch_logits(trained_demo.model)(trained_demo.images)
    model = init_model(trained_demo.config, trained_demo.checkpoint, dtype=torch.bfloat16)
    logits = torch_logits(model)(trained_demo.images)
    assert argmax_agreement(logits, reference) >= 0.98
    assert top1(logits, trained_demo.labels) >= top1(reference, trained_demo.labels) - 0.5


@pytest.mark.slow
def test_pt2e_int8_keeps_the_accuracy_of_a_trained_model(trained_demo):
    """torchao's reference int8 model (the compiled one computes the same rounding in int8 kernels)."""
    pytest.importorskip("torchao")
    from mobilevit.export import calibration_images
    from mobilevit.export.pt2e import quantize_pt2e

    calibration = calibration_images(trained_demo.config, trained_demo.model.preprocessing, count=100)
    quantized = quantize_pt2e(trained_demo.model, calibration, compile=False)
    with torch.no_grad():
        reference = trained_demo.model(trained_demo.images)
        logits = quantized(trained_demo.images)
    assert argmax_agreement(logits, reference) >= 0.98
    assert top1(logits, trained_demo.labels) >= top1(reference, trained_demo.labels) - 0.5
