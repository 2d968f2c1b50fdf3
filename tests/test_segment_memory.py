"""Segmenting large photos: the results of resizing the logits to the photo's size, without the
memory (the softmax and the argmax taken at the model's output size, their values copied)."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mobilevit.data.segmentation import voc_palette
from mobilevit.models import build_segmenter
from mobilevit.tasks.segmentation import SEGMENTATION_PREPROCESSING, overlay_mask, segment

TINY = [["mobilenetv2", 8, 1, 1, 2], ["mobilevit", 16, 2, 16, 32, 1, 2]]


def _resized_first(logits: torch.Tensor, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The mask and scores as computed before: the logits resized to the image's size, then the softmax."""
    scores = F.interpolate(logits[None], size=size, mode="nearest")[0].softmax(dim=0)
    return scores.argmax(dim=0).numpy(), scores.numpy()


@pytest.fixture(scope="module")
def segmenter():
    model = build_segmenter(TINY, num_classes=5, aspp_channels=8).eval()
    model.preprocessing = SEGMENTATION_PREPROCESSING
    model.class_names = ("background", "a", "b", "c", "d")
    return model


@pytest.mark.parametrize("size", [(37, 53), (9, 5), (130, 71), (512, 512), (700, 301), (31, 31)])
def test_masks_and_scores_are_those_of_resizing_the_logits_first(segmenter, size):
    generator = torch.Generator().manual_seed(size[0] * 1000 + size[1])
    logits = torch.randn(1, 5, 23, 17, generator=generator) * 3
    logits[0, :, 3, 4] = 1.5  # a tie: the first class wins either way
    image = np.zeros((*size, 3), np.uint8)
    result = segment(segmenter, [image], lambda batch: logits)[0]
    mask, scores = _resized_first(logits[0], size)
    assert np.array_equal(result["pred_mask"], mask) and result["pred_mask"].dtype == mask.dtype
    assert np.array_equal(result["pred_scores"], scores)  # computed as before, on the resized logits
    names = segmenter.class_names
    assert result["pred_classes"] == [names[label] for label in np.unique(mask)]
    without = segment(segmenter, [image], lambda batch: logits, pixel_scores=False)[0]
    assert "pred_scores" not in without and np.array_equal(without["pred_mask"], mask)
    assert without["pred_classes"] == result["pred_classes"]


def test_the_overlay_painted_in_bands_is_the_whole_one():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (600, 37, 3), dtype=np.uint8)
    mask = rng.integers(0, 21, (600, 37))
    colours = np.array(voc_palette(), np.float64).reshape(256, 3)[mask]
    alpha = np.where(mask[..., None] == 0, 0.0, 0.4)
    whole = (rgb * (1 - alpha) + colours * alpha).round().astype(np.uint8)
    assert np.array_equal(np.asarray(overlay_mask(rgb, mask, 0.4)), whole)


PEAK = """
import resource, sys
import numpy as np, torch
from mobilevit.tasks.segmentation import overlay_mask, segment
from mobilevit.models import build_segmenter
from mobilevit.tasks.segmentation import SEGMENTATION_PREPROCESSING

model = build_segmenter({arch!r}, num_classes=21, aspp_channels=8).eval()
model.preprocessing = SEGMENTATION_PREPROCESSING
photo = np.zeros((3000, 4000, 3), np.uint8)
logits = torch.randn(1, 21, 64, 64)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = segment(model, [photo], lambda batch: logits, pixel_scores=False)[0]
overlay_mask(photo, result["pred_mask"])
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024 / photo[..., 0].size)
"""


@pytest.mark.slow
@pytest.mark.parametrize("arch", [TINY, "v2_050"])  # v1 resizes with nearest, v2 bilinearly in bands of rows
def test_segmenting_a_large_photo_without_scores_takes_a_few_bytes_per_pixel(arch):
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(PEAK.format(arch=arch))], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    bytes_per_pixel = float(run.stdout)
    # the mask (8 bytes), the overlay (3) and the resized input; resizing the 21-class logits first took ~180
    assert bytes_per_pixel < 40, bytes_per_pixel
