"""mIoU over the whole set from one confusion matrix, checked by counting and against torchmetrics."""

import pytest
import torch
import torch.nn.functional as F

from mobilevit.data.segmentation import IGNORE_INDEX, SegmentationBatch
from mobilevit.tasks.segmentation import ConfusionMatrix, segmentation_loss

NUM_CLASSES = 5


def _made_up(seed=0, count=6):
    """Logits and masks of varied sizes; the predictions agree with the masks more often than chance,
    class 4 never occurs in the masks and is sometimes predicted, some pixels are 255."""
    generator = torch.Generator().manual_seed(seed)
    logits, masks = [], []
    for index in range(count):
        height, width = 7 + index, 11 - index
        mask = torch.randint(0, NUM_CLASSES - 1, (height, width), generator=generator)
        mask[torch.rand(height, width, generator=generator) < 0.1] = IGNORE_INDEX
        scores = torch.randn(NUM_CLASSES, height, width, generator=generator)
        scores += 2.0 * F.one_hot(mask.clamp(max=NUM_CLASSES - 1), NUM_CLASSES).permute(2, 0, 1)
        logits.append(scores)
        masks.append(mask)
    return logits, masks


def _brute_force(logits, masks):
    intersection, union, correct, total = [0] * NUM_CLASSES, [0] * NUM_CLASSES, 0, 0
    for scores, mask in zip(logits, masks):
        prediction = scores.argmax(0)
        for y in range(mask.shape[0]):
            for x in range(mask.shape[1]):
                truth, guess = int(mask[y, x]), int(prediction[y, x])
                if truth == IGNORE_INDEX:
                    continue
                total += 1
                correct += truth == guess
                intersection[truth] += truth == guess
                union[truth] += 1
                union[guess] += truth != guess
    ious = [hit / size for hit, size in zip(intersection, union) if size]
    return 100 * sum(ious) / len(ious), 100 * correct / total, intersection, union


def _evaluate(logits, masks, batch_size=2):
    evaluator = ConfusionMatrix(NUM_CLASSES, torch.device("cpu"))
    for start in range(0, len(logits), batch_size):
        for scores, mask in zip(logits[start : start + batch_size], masks[start : start + batch_size]):
            evaluator.update(scores[None], SegmentationBatch(scores[None], [mask], ()))
    return evaluator.compute()


def test_miou_equals_a_brute_force_count():
    logits, masks = _made_up()
    metrics = _evaluate(logits, masks)
    miou, accuracy, intersection, union = _brute_force(logits, masks)
    assert metrics.miou == pytest.approx(miou, abs=1e-9)
    assert metrics.pixel_accuracy == pytest.approx(accuracy, abs=1e-9)
    assert metrics.class_iou[:4] == pytest.approx([hit / size for hit, size in zip(intersection[:4], union[:4])])
    assert (metrics.class_iou[4] == 0.0) == (union[4] > 0)  # predicted, never present: IoU 0, in the mean
    assert metrics.count == len(masks) and metrics.pixels == sum(int((mask != IGNORE_INDEX).sum()) for mask in masks)


def test_miou_equals_torchmetrics_over_the_whole_set():
    classification = pytest.importorskip("torchmetrics.classification")
    logits, masks = _made_up(seed=1)
    reference = classification.MulticlassJaccardIndex(NUM_CLASSES, average="macro", ignore_index=IGNORE_INDEX)
    for scores, mask in zip(logits, masks):
        reference.update(scores.argmax(0)[None], mask[None])
    assert _evaluate(logits, masks).miou == pytest.approx(100 * float(reference.compute()), abs=1e-4)


def test_predictions_go_back_to_the_image_size_with_nearest():
    """The protocol: logits at the evaluation size, resized to the mask's size with nearest, then argmax."""
    logits, masks = _made_up(seed=2)
    small = [F.interpolate(scores[None], size=(5, 5), mode="bilinear")[0] for scores in logits]
    back = [F.interpolate(scores[None], size=mask.shape, mode="nearest")[0] for scores, mask in zip(small, masks)]
    assert _evaluate(small, masks).miou == pytest.approx(_brute_force(back, masks)[0], abs=1e-9)


def test_loss_ignores_255_and_a_fully_ignored_batch_is_zero():
    logits = torch.randn(2, 3, 4, 4, requires_grad=True)
    masks = torch.randint(0, 3, (2, 4, 4))
    masks[0, 0] = IGNORE_INDEX
    loss = segmentation_loss()(logits, SegmentationBatch(logits, masks, ()))
    torch.testing.assert_close(loss, F.cross_entropy(logits, masks, ignore_index=IGNORE_INDEX))
    empty = segmentation_loss(0.1)(logits, SegmentationBatch(logits, torch.full_like(masks, IGNORE_INDEX), ()))
    assert empty.item() == 0.0
    empty.backward()
