"""The detection task's COCO evaluation against pycocotools itself, on made-up boxes."""

import contextlib
import io

import numpy as np
import pytest
import torch

from mobilevit.data.detection import DetectionList, ImageBoxes
from mobilevit.tasks.detection import DetectionEvaluator

pycocotools = pytest.importorskip("pycocotools")
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

CATEGORY_IDS = (3, 8, 20)  # with gaps, as COCO's


def made_up(seed=0, num_images=12):
    """Ground truth of varied sizes (a crowd region here and there) and noisy detections of it."""
    rng = np.random.default_rng(seed)
    images, detections = [], []
    for image_id in range(num_images):
        count = int(rng.integers(1, 5))
        corners = rng.uniform(0, 200, (count, 2))
        sizes = rng.choice([12.0, 60.0, 150.0], count)[:, None] * rng.uniform(0.6, 1.2, (count, 2))
        boxes = np.concatenate([corners, np.minimum(corners + sizes, 320)], axis=1).astype(np.float32)
        labels = rng.integers(1, 4, count)
        crowd = np.arange(count) == 3
        images.append(
            ImageBoxes(
                f"{image_id}.png",
                image_id * 5 + 1,
                320,
                320,
                boxes,
                labels,
                (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]),
                crowd,
            )
        )
        noisy = boxes + rng.normal(0, 4, boxes.shape)
        extra = rng.uniform(0, 300, (2, 4))
        extra[:, 2:] = extra[:, :2] + 20
        predicted = np.concatenate([noisy, extra]).astype(np.float32)
        flipped = np.where(
            rng.uniform(size=count + 2) < 0.2,
            rng.integers(1, 4, count + 2),
            np.concatenate([labels, rng.integers(1, 4, 2)]),
        )
        detections.append(
            {
                "boxes": torch.from_numpy(predicted),
                "scores": torch.from_numpy(rng.uniform(size=count + 2)),
                "labels": torch.from_numpy(flipped),
            }
        )
    return DetectionList(images, ("a", "b", "c"), CATEGORY_IDS, "made-up"), detections


def pycocotools_stats(truth, detections):
    """COCOeval straight on the same boxes, written out here independently of the evaluator."""
    ground_truth = {"images": [], "annotations": [], "categories": [{"id": c} for c in CATEGORY_IDS]}
    results = []
    for image, detection in zip(truth.images, detections):
        ground_truth["images"].append({"id": image.image_id, "width": 320, "height": 320})
        for box, label, crowd in zip(image.boxes.tolist(), image.labels.tolist(), image.crowd.tolist()):
            ground_truth["annotations"].append(
                {
                    "id": len(ground_truth["annotations"]) + 1,
                    "image_id": image.image_id,
                    "category_id": CATEGORY_IDS[label - 1],
                    "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                    "area": (box[2] - box[0]) * (box[3] - box[1]),
                    "iscrowd": int(crowd),
                }
            )
        for box, score, label in zip(
            detection["boxes"].tolist(), detection["scores"].tolist(), detection["labels"].tolist()
        ):
            results.append(
                {
                    "image_id": image.image_id,
                    "category_id": CATEGORY_IDS[label - 1],
                    "score": score,
                    "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                }
            )
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = ground_truth
        coco.createIndex()
        evaluation = COCOeval(coco, coco.loadRes(results), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return [100 * value for value in evaluation.stats[:6]]


def test_map_equals_pycocotools_on_made_up_boxes():
    truth, detections = made_up()
    evaluator = DetectionEvaluator(truth)
    for start in range(0, len(detections), 5):  # in batches, as the evaluation loop adds them
        chunk = range(start, min(start + 5, len(detections)))
        evaluator.add([truth.images[index].image_id for index in chunk], [detections[index] for index in chunk])
    metrics = evaluator.compute()
    expected = pycocotools_stats(truth, detections)
    ours = [metrics.map, metrics.ap50, metrics.ap75, metrics.ap_small, metrics.ap_medium, metrics.ap_large]
    assert ours == pytest.approx(expected, abs=1e-9)
    assert 10 < metrics.map < 90 and metrics.count == len(truth.images)
    assert len(metrics.class_ap) == 3 and all(0 < ap <= 100 for ap in metrics.class_ap)
    assert metrics.report(("background", "a", "b", "c"))["per_class"][2]["class"] == "c"


def test_an_image_counted_twice_is_refused():
    truth, detections = made_up(num_images=2)
    evaluator = DetectionEvaluator(truth)
    evaluator.add([1, 1], detections)
    with pytest.raises(ValueError, match="more than once"):
        evaluator.compute()
