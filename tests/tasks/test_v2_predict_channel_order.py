"""A MobileViT v2 model built without preprocessing predicts on RGB input, as its weights were trained;
v1 on BGR."""

import numpy as np
import pytest
import torch

from mobilevit.apis import inference_model
from mobilevit.data.transforms import EvalTransform
from mobilevit.models import build_classifier
from mobilevit.tasks import get_task


@pytest.mark.parametrize(("arch", "channel_order"), [("v2_050", "RGB"), ("xx_small", "BGR")])
def test_a_bare_classifier_predicts_in_its_familys_channel_order(arch, channel_order):
    torch.manual_seed(0)
    model = build_classifier(arch, num_classes=5).eval()
    rgb = np.random.default_rng(0).integers(0, 256, (300, 280, 3), dtype=np.uint8)
    result = inference_model(model, rgb, channel_order="RGB")
    task = get_task("classification")
    preprocessing = task.default_preprocessing_v2 if arch.startswith("v2") else task.default_preprocessing
    assert preprocessing.channel_order == channel_order
    with torch.no_grad():
        expected = model(EvalTransform(preprocessing)(rgb)[None]).softmax(-1)[0]
    np.testing.assert_allclose(result["pred_scores"], expected.numpy(), atol=1e-5)
