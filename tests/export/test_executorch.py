"""ExecuTorch: the rewrite XNNPACK takes whole, `mobilevit export --format executorch` in fp32 and
int8, `test` and `predict` with `--backend executorch`, and what int8 costs on a trained model."""

import copy

import pytest
import torch
from demo_model import argmax_agreement, check_test_and_predict_match_pytorch, export_fp32_and_int8, top1

from mobilevit.export import ExecuTorchRunner
from mobilevit.export.executorch import delegable
from mobilevit.models import build_classifier
from reference_weights import deterministic_input, deterministic_state_dict

ARCH = [["mobilenetv2", 8, 1, 1, 2], ["mobilevit", 16, 2, 16, 32, 1, 2]]


def test_the_rewrite_computes_the_eager_logits():
    """Needs no ExecuTorch: the rewritten XXS (attention as matrix products, LayerNorm as means)."""
    model = build_classifier("xx_small")
    model.load_state_dict(deterministic_state_dict(model.state_dict()))
    model.eval()
    image = deterministic_input(2, 64, 96)
    with torch.no_grad():
        expected = model(image)
        rewritten = delegable(copy.deepcopy(model).fuse())(image)
    assert torch.allclose(rewritten, expected, atol=1e-4, rtol=0)
    assert not any(isinstance(module, torch.nn.LayerNorm) for module in delegable(model).modules())


@pytest.mark.slow
def test_fp32_program_runs_whole_in_xnnpack_and_gives_the_pytorch_logits(tmp_path):
    pytest.importorskip("executorch")
    from mobilevit.export.executorch import to_xnnpack, undelegated_operators

    torch.manual_seed(0)
    model = build_classifier(ARCH, num_classes=3).eval()
    fused = copy.deepcopy(model).fuse()
    lowered = to_xnnpack(delegable(fused), torch.rand(2, 3, 32, 48))  # what export_model writes
    assert undelegated_operators(lowered) == {}
    path = tmp_path / "tiny.pte"
    path.write_bytes(lowered.to_executorch().buffer)
    classifier = ExecuTorchRunner(path)
    assert classifier.input_shape == (2, 3, 32, 48)
    image = deterministic_input(4, 32, 48)  # two slices of the program's batch
    with torch.no_grad():
        expected = model(image)
    assert torch.allclose(classifier(image), expected, atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match=r"takes batches of 2 images; got 1"):
        classifier(image[:1])


@pytest.fixture(scope="module")
def exported(trained_demo, tmp_path_factory):
    """The demo model exported by `mobilevit export` in fp32 and int8 (calibrated on its training split)."""
    pytest.importorskip("executorch")
    return export_fp32_and_int8(trained_demo, tmp_path_factory.mktemp("executorch"), "executorch", ".pte")


@pytest.mark.slow
def test_int8_agrees_with_fp32_on_a_trained_model(trained_demo, exported, tmp_path, capsys):
    """On the demo's 500 held-out digits: fp32 gives the PyTorch logits, int8 >= 98 % the same top
    class; `test` and `predict` run the files."""
    with torch.no_grad():
        reference = trained_demo.model(trained_demo.images)
    assert torch.allclose(ExecuTorchRunner(exported / "fp32.pte")(trained_demo.images), reference, atol=1e-4, rtol=0)
    logits = ExecuTorchRunner(exported / "int8.pte")(trained_demo.images)
    assert top1(reference, trained_demo.labels) > 85  # the run trained
    assert argmax_agreement(logits, reference) >= 0.98
    check_test_and_predict_match_pytorch(trained_demo, exported / "fp32.pte", "executorch", tmp_path, capsys)


@pytest.mark.slow
def test_int8_loses_at_most_half_a_point_of_top1(trained_demo, exported):
    with torch.no_grad():
        reference = trained_demo.model(trained_demo.images)
    logits = ExecuTorchRunner(exported / "int8.pte")(trained_demo.images)
    assert top1(logits, trained_demo.labels) >= top1(reference, trained_demo.labels) - 0.5
