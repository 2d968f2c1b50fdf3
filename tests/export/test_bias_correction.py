"""Bias correction after int8 quantization: the corrected graph's outputs have the float model's
per-channel means on the calibration images, and the float model is left untouched."""

import copy

import pytest
import torch

from mobilevit.export.bias_correction import correct_biases
from mobilevit.models import build_classifier

ARCH = [["mobilenetv2", 8, 1, 1, 2], ["mobilevit", 16, 2, 16, 32, 1, 2]]


def converted_without_correction(model: torch.nn.Module, calibration: torch.Tensor) -> torch.fx.GraphModule:
    """torchao's X86 PT2E quantization of ``model``, observed on ``calibration`` and converted."""
    pt2e = pytest.importorskip("torchao.quantization.pt2e.quantize_pt2e")
    from torchao.quantization.pt2e import move_exported_model_to_eval
    from torchao.quantization.pt2e.quantizer import x86_inductor_quantizer as xiq

    quantizer = xiq.X86InductorQuantizer().set_global(xiq.get_default_x86_inductor_quantization_config())
    program = torch.export.export(model, (calibration,)).module()
    prepared = pt2e.prepare_pt2e(move_exported_model_to_eval(program), quantizer)
    prepared(calibration)
    return move_exported_model_to_eval(pt2e.convert_pt2e(prepared))


def test_the_corrected_logits_have_the_float_means_and_the_model_keeps_its_biases():
    torch.manual_seed(0)
    model = build_classifier(ARCH, num_classes=5).eval().fuse()
    calibration = torch.rand(24, 3, 32, 32)
    with torch.no_grad():
        expected = model(calibration).mean(0)
    original = copy.deepcopy(model.state_dict())
    quantized = converted_without_correction(model, calibration)
    with torch.no_grad():
        gap_before = (quantized(calibration).mean(0) - expected).abs().max()
        layers = sum(isinstance(m, torch.nn.Conv2d | torch.nn.Linear) and m.bias is not None for m in model.modules())
        assert correct_biases(quantized, model, calibration) == layers
        gap_after = (quantized(calibration).mean(0) - expected).abs().max()
    assert gap_after < 1e-4 < gap_before
    assert all(torch.equal(original[key], value) for key, value in model.state_dict().items())


def test_a_large_calibration_set_is_thinned_evenly_over_its_classes():
    from mobilevit.export.bias_correction import _spread_subset

    images = torch.arange(10.0).view(10, 1, 1, 1)
    assert _spread_subset(images, 4).flatten().tolist() == [0.0, 3.0, 6.0, 9.0]
    assert _spread_subset(images, 20) is images
