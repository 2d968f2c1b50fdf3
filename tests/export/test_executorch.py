"""ExecuTorch: the rewrite XNNPACK takes whole, `mobilevit export --format executorch` in fp32 and
int8, `test` and `predict` with `--backend executorch`, and what int8 costs on a trained model."""

import copy
import json

import numpy as np
import pytest
import torch
from demo_model import argmax_agreement, top1
from PIL import Image

from mobilevit.cli import main
from mobilevit.export import ExecuTorchClassifier
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
    classifier = ExecuTorchClassifier(path)
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
    folder = tmp_path_factory.mktemp("executorch")
    common = [
        "export",
        str(trained_demo.config),
        "--checkpoint",
        str(trained_demo.checkpoint),
        "--format",
        "executorch",
    ]
    assert main([*common, "--output", str(folder / "fp32.pte")]) == 0
    assert (
        main(
            [
                *common,
                "--quantize",
                "int8",
                "--calibration",
                str(trained_demo.config),
                "--output",
                str(folder / "int8.pte"),
            ]
        )
        == 0
    )
    return folder


@pytest.mark.slow
def test_int8_agrees_with_fp32_on_a_trained_model(trained_demo, exported, tmp_path, capsys):
    """On the demo's 500 held-out digits: fp32 gives the PyTorch logits, int8 >= 98 % the same top
    class; `test` and `predict` run the files."""
    with torch.no_grad():
        reference = trained_demo.model(trained_demo.images)
    assert torch.allclose(
        ExecuTorchClassifier(exported / "fp32.pte")(trained_demo.images), reference, atol=1e-4, rtol=0
    )
    logits = ExecuTorchClassifier(exported / "int8.pte")(trained_demo.images)
    assert top1(reference, trained_demo.labels) > 85  # the run trained
    assert argmax_agreement(logits, reference) >= 0.98
    assert main(["test", str(trained_demo.config), str(trained_demo.checkpoint)]) == 0
    pytorch_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["test", str(trained_demo.config), str(exported / "fp32.pte"), "--backend", "executorch"]) == 0
    exported_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert exported_line.split("(")[0] == pytorch_line.split("(")[0] and "top-1" in exported_line
    assert "executorch running" in exported_line
    image = tmp_path / "image.png"
    y, x = np.mgrid[0:40, 0:36]
    Image.fromarray(np.stack([x * 6, y * 5, (x * y) % 256], -1).astype(np.uint8)).save(image)
    common = ["predict", str(image), "--model", str(trained_demo.config), "--json"]
    assert main([*common, "--checkpoint", str(trained_demo.checkpoint)]) == 0
    expected = json.loads(capsys.readouterr().out)
    assert main([*common, "--checkpoint", str(exported / "fp32.pte"), "--backend", "executorch"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["pred_label"] == expected["pred_label"]
    assert result["pred_score"] == pytest.approx(expected["pred_score"], abs=1e-5)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="int8 loses 0.8-1.0 point of top-1 on the demo (docs/deployment.md)")
def test_int8_loses_at_most_half_a_point_of_top1(trained_demo, exported):
    with torch.no_grad():
        reference = trained_demo.model(trained_demo.images)
    logits = ExecuTorchClassifier(exported / "int8.pte")(trained_demo.images)
    assert top1(logits, trained_demo.labels) >= top1(reference, trained_demo.labels) - 0.5
