"""Contract tests of the classifier over every seed arch: shapes, loss, predict, gradients."""

import pytest
import torch

from arch_table import ARCH_NAMES, PUBLISHED
from mobilevit.models import build_classifier


@pytest.fixture(scope="module", params=ARCH_NAMES)
def arch_and_model(request):
    return request.param, build_classifier(request.param)


@pytest.mark.parametrize("size", [(224, 224), (256, 256), (250, 333), (320, 192)])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("training", [False, True])
def test_forward_and_extract_feat_shapes(arch_and_model, size, batch, training):
    arch, model = arch_and_model
    model.train(training)
    x = torch.rand(batch, 3, *size)
    with torch.no_grad():
        assert model(x).shape == (batch, 1000)
        features = model.extract_feat(x)
    assert isinstance(features, tuple)
    assert features[0].shape == (batch, PUBLISHED[arch].pooled_channels)


def test_every_parameter_gets_a_gradient(arch_and_model):
    _, model = arch_and_model
    model.train()
    model.zero_grad()
    model.loss(torch.rand(2, 3, 96, 96), torch.tensor([1, 7])).backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing


def test_any_number_of_classes_and_label_smoothing():
    model = build_classifier("xx_small", num_classes=7, label_smoothing=0.1).eval()
    x, labels = torch.rand(4, 3, 64, 64), torch.tensor([0, 1, 2, 6])
    logits = model(x)
    assert logits.shape == (4, 7)
    expected = torch.nn.functional.cross_entropy(logits, labels, label_smoothing=0.1)
    assert torch.allclose(model.loss(x, labels), expected)
    scores, predicted = model.predict(x)
    assert torch.allclose(scores.sum(dim=1), torch.ones(4))
    assert torch.equal(predicted, logits.argmax(dim=1))
    with pytest.raises(ValueError, match="num_classes"):
        build_classifier("xx_small", num_classes=-1)  # 0 is allowed: no classifier, as timm


def test_head_follows_the_last_out_index():
    model = build_classifier("xx_small", out_indices=(2, 3)).eval()
    features = model.extract_feat(torch.rand(1, 3, 64, 64))
    assert [f.shape[1] for f in features] == [48, 64]
    assert model.head.fc.in_features == 64
    assert model(torch.rand(1, 3, 64, 64)).shape == (1, 1000)
