"""MobileViT v2 to OpenVINO int8 (NNCF) keeps the accuracy of a classifier that predicts something,
with the tolerances v1's demo is held to: >= 98 % the same top class as float32, <= 0.5 point of
top-1 lost. The classifier (v2_050) is trained in the test for a few dozen steps to tell which of
ten colours the bright square of a noisy 32x32 image has."""

from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from demo_model import argmax_agreement, top1

from mobilevit.export import OpenVinoRunner, export_model
from mobilevit.export.openvino import is_quantized
from mobilevit.models import build_classifier

pytest.importorskip("openvino")
pytest.importorskip("nncf")

SIZE = 32
SIDE = 12  # the square's side
NOISE = 0.25
COLOURS = torch.tensor(
    [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1], [1, 0.5, 0], [0.5, 0, 1], [0, 1, 0.5]]
)
STEPS, BATCH = 30, 32


def squares(count: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` preprocessed images (noise, and a square of the class's colour somewhere) and their labels."""
    labels = torch.randint(0, len(COLOURS), (count,), generator=generator)
    images = NOISE * torch.randn(count, 3, SIZE, SIZE, generator=generator)
    corners = torch.randint(0, SIZE - SIDE + 1, (count, 2), generator=generator)
    for image, label, (top, left) in zip(images, labels, corners.tolist()):
        image[:, top : top + SIDE, left : left + SIDE] += (3 * COLOURS[label] - 1.5)[:, None, None]
    return images, labels


def train(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> None:
    """AdamW for ``STEPS`` batches, BatchNorm statistics then taken on the whole set (a short run's
    running averages still carry the initial ones), and the head fitted again on the pooled features."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    model.train()
    for step in range(STEPS):
        batch = slice(step * BATCH, (step + 1) * BATCH)
        loss = F.cross_entropy(model(images[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.reset_running_stats()
                module.momentum = None  # a plain average over the batches
        model(images)
        model.eval()
        features = model.forward_head(model.forward_features(images), pre_logits=True)
    fit_head(model, features, labels)


def fit_head(model: torch.nn.Module, features: torch.Tensor, labels: torch.Tensor, steps: int = 300) -> None:
    """Fit the linear head by logistic regression on pooled ``features`` (standardized while fitting,
    the standardization then folded into the layer)."""
    mean, std = features.mean(0), features.std(0).clamp_min(1e-6)
    standardized = (features - mean) / std
    fc = torch.nn.Linear(features.shape[1], len(COLOURS))
    optimizer = torch.optim.Adam(fc.parameters(), lr=0.05)
    for _ in range(steps):
        loss = F.cross_entropy(fc(standardized), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        head = model.get_classifier()
        head.weight.copy_(fc.weight / std)
        head.bias.copy_(fc.bias - head.weight @ mean)


@dataclass(frozen=True)
class Exported:
    """The trained classifier's float32 and int8 logits on held-out images, and the int8 IR."""

    reference: torch.Tensor
    logits: torch.Tensor
    labels: torch.Tensor
    runner: OpenVinoRunner


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Exported:
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    model = build_classifier("v2_050", num_classes=10)
    training, training_labels = squares(STEPS * BATCH, generator)
    train(model, training, training_labels)
    images, labels = squares(400, generator)  # held out
    with torch.no_grad():
        reference = model(images)
    path = tmp_path_factory.mktemp("v2_int8") / "int8.xml"
    export_model(model, path, "openvino", SIZE, SIZE, calibration=training[:128], quantize="int8")
    runner = OpenVinoRunner(path)
    return Exported(reference, runner(images), labels, runner)


@pytest.mark.slow
def test_the_ir_is_int8_and_the_model_learned(exported):
    assert is_quantized(exported.runner.model)
    assert top1(exported.reference, exported.labels) > 50  # chance: 10 %


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="int8 falls short of v1's tolerances on v2: measured 78.5 % the same top class as float32 and "
    "65.75 % top-1 against float32's 73.00 % (79.5 % and 65.25 % calibrated on all 960 training images; "
    "62.25 % and 52.50 % against 60.25 % with 64x64 images and a 24-pixel square)",
)
def test_int8_keeps_the_accuracy_of_a_v2_classifier(exported):
    assert argmax_agreement(exported.logits, exported.reference) >= 0.98
    assert top1(exported.logits, exported.labels) >= top1(exported.reference, exported.labels) - 0.5
