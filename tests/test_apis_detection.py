"""inference_model on a detector: boxes in the image's own pixels, scores, class names; drawing."""

import numpy as np
import torch

import mobilevit
from mobilevit.apis import draw_detections
from mobilevit.models import build_ssdlite

TINY_ARCH = [
    ["mobilenetv2", 8, 1, 1, 2],
    ["mobilenetv2", 16, 2, 1, 2],
    ["mobilevit", 24, 2, 24, 48, 1, 2],
    ["mobilevit", 32, 2, 32, 64, 1, 2],
    ["mobilevit", 40, 2, 40, 80, 1, 2],
]


def test_inference_model_detects_in_the_images_own_pixels_and_draws_the_boxes():
    torch.manual_seed(0)
    model = build_ssdlite(TINY_ARCH, num_classes=3, image_size=64, score_thresh=0.2, detections_per_img=10).eval()
    model.class_names = ("background", "cat", "dog")
    bgr = np.random.default_rng(0).integers(0, 255, (90, 150, 3), dtype=np.uint8)
    result = mobilevit.inference_model(model, bgr)
    assert len(result["boxes"]) > 0 and result["boxes"].shape[1] == 4
    assert (result["boxes"][:, [0, 2]] <= 150).all() and (result["boxes"][:, [1, 3]] <= 90).all()
    assert list(result["scores"]) == sorted(result["scores"], reverse=True)
    assert result["classes"] == [model.class_names[label] for label in result["labels"]]
    # the same detections as the model on the image itself, BGR in [0, 1]
    with torch.no_grad():
        expected = model.detect([torch.from_numpy(bgr).permute(2, 0, 1).float() / 255])[0]
    np.testing.assert_allclose(result["boxes"], expected["boxes"].numpy(), atol=1e-4)
    both = mobilevit.inference_model(model, [bgr, bgr[:, ::-1].copy()])
    assert len(both) == 2 and np.allclose(both[0]["boxes"], result["boxes"])
    drawn = draw_detections(bgr, result, score_threshold=0.0)
    assert drawn.size == (150, 90)
    assert not np.array_equal(np.asarray(drawn), bgr[..., ::-1])  # boxes were drawn on the RGB image
