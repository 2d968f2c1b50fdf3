"""LiteRT: `mobilevit export --format tflite` in fp32 and int8, `predict` and `test` with
`--backend tflite`, and what int8 costs on a trained model."""

import numpy as np
import pytest
import torch
from demo_model import argmax_agreement, check_test_and_predict_match_pytorch, export_fp32_and_int8, top1

from mobilevit.export import TFLiteRunner, export_model
from mobilevit.models import build_classifier
from reference_weights import deterministic_input

pytest.importorskip("litert_torch")
pytest.importorskip("ai_edge_litert")

ARCH = [["mobilenetv2", 8, 1, 1, 2], ["mobilevit", 16, 2, 16, 32, 1, 2]]


@pytest.mark.slow
def test_fp32_file_gives_the_pytorch_logits(tmp_path):
    torch.manual_seed(0)
    model = build_classifier(ARCH, num_classes=3).eval()
    path = export_model(model, tmp_path / "tiny.tflite", "tflite", 32, 48, batch_size=2)
    classifier = TFLiteRunner(path, threads=2)
    assert classifier.input_shape == (2, 3, 32, 48) and not classifier.quantized
    image = deterministic_input(4, 32, 48)  # two slices of the file's batch
    with torch.no_grad():
        expected = model(image)
    assert torch.allclose(classifier(image), expected, atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match=r"takes batches of 2 images; got 3"):
        classifier(image[:3])
    with pytest.raises(ValueError, match=r"takes a batch of shape \(2, 3, 32, 48\)"):
        classifier(deterministic_input(2, 48, 32))


@pytest.fixture(scope="module")
def exported(trained_demo, tmp_path_factory):
    """The demo model exported by `mobilevit export` in fp32 and int8 (calibrated on its training split)."""
    return export_fp32_and_int8(trained_demo, tmp_path_factory.mktemp("tflite"), "tflite", ".tflite")


@pytest.mark.slow
def test_int8_agrees_with_fp32_on_a_trained_model(trained_demo, exported, tmp_path, capsys):
    """On the demo's 500 held-out digits: fp32 gives the PyTorch logits, int8 >= 98 % the same top
    class; `test` and `predict` run the files."""
    with torch.no_grad():
        reference = trained_demo.model(trained_demo.images)
    assert torch.allclose(TFLiteRunner(exported / "fp32.tflite")(trained_demo.images), reference, atol=1e-4, rtol=0)
    int8 = TFLiteRunner(exported / "int8.tflite")
    # float32 in (the first layers stay float32), int8 out, dequantized by the runner
    assert int8.input["dtype"] == np.float32 and int8.quantized and int8.output["dtype"] == np.int8
    logits = int8(trained_demo.images)
    assert top1(reference, trained_demo.labels) > 85  # the run trained
    assert argmax_agreement(logits, reference) >= 0.98
    check_test_and_predict_match_pytorch(trained_demo, exported / "fp32.tflite", "tflite", tmp_path, capsys)


@pytest.mark.slow
def test_int8_loses_at_most_half_a_point_of_top1(trained_demo, exported):
    with torch.no_grad():
        reference = trained_demo.model(trained_demo.images)
    logits = TFLiteRunner(exported / "int8.tflite")(trained_demo.images)
    assert top1(logits, trained_demo.labels) >= top1(reference, trained_demo.labels) - 0.5
