"""Detection pictures: one colour per class, labels with their scores that do not cover each other."""

import numpy as np

from mobilevit.apis import draw_detections
from mobilevit.drawing import PALETTE, class_colour, draw_boxes


def _result(boxes, labels, scores, names=("background", "cat", "dog", "fox")):
    labels = np.array(labels)
    return {
        "boxes": np.array(boxes, dtype=np.float32),
        "scores": np.array(scores, dtype=np.float32),
        "labels": labels,
        "classes": [names[label] for label in labels],
    }


def _pixels_of(image, colour):
    return np.all(np.asarray(image) == colour, axis=-1)


def test_each_class_has_its_own_colour_and_a_box_is_drawn_in_it():
    assert len(set(PALETTE)) == len(PALETTE) and class_colour(1) != class_colour(2)
    grey = np.full((200, 300, 3), 128, dtype=np.uint8)
    result = _result([[20, 30, 120, 150], [160, 40, 280, 180], [30, 60, 110, 140]], [1, 2, 1], [0.9, 0.8, 0.7])
    drawn = draw_detections(grey[..., ::-1], result, score_threshold=0.5)  # BGR in, RGB out
    cat, dog = _pixels_of(drawn, class_colour(1)), _pixels_of(drawn, class_colour(2))
    assert cat[100, 20] and cat[100, 120] and not dog[100, 20]  # the cat box's left and right edges
    assert dog[120, 160] and dog[120, 280] and not cat[120, 160]
    assert cat[100, 30] and cat[100, 110]  # the second cat box, in the same colour as the first


def test_labels_of_overlapping_boxes_do_not_cover_each_other():
    black = np.zeros((240, 320, 3), dtype=np.uint8)
    boxes = np.array([[40, 60, 200, 200], [44, 62, 204, 204], [48, 64, 208, 208]], dtype=np.float32)
    names, labels, scores = ["cat", "dog", "fox"], [1, 2, 3], [0.91, 0.62, 0.40]
    drawn = np.asarray(draw_boxes(black, boxes, labels, names, scores))
    bands = []
    for box, label in zip(boxes, labels):
        # a label is a band of its class's colour: the rows, other than the box's top and bottom
        # edges (one pixel wide here), where that colour fills 15 pixels or more
        counts = _pixels_of(drawn, class_colour(label)).sum(axis=1)
        counts[[int(box[1]), int(box[3])]] = 0
        rows = np.flatnonzero(counts >= 15)
        assert rows.size, f"no label band for class {label}"
        bands.append((rows.min(), rows.max()))
    bands.sort()
    assert all(upper[1] < lower[0] for upper, lower in zip(bands, bands[1:]))  # three bands, one above the other


def test_the_score_is_written_beside_the_class_name():
    black = np.zeros((120, 200, 3), dtype=np.uint8)
    short = np.asarray(draw_boxes(black, np.array([[10, 10, 190, 110]]), [1], ["cat"], [0.5]))
    # the band's width follows its text: the class name and the score
    width = _pixels_of(short, class_colour(1))[12:20].sum(axis=1).max()
    longer = np.asarray(draw_boxes(black, np.array([[10, 10, 190, 110]]), [1], ["cat and more"], [0.5]))
    assert _pixels_of(longer, class_colour(1))[12:20].sum(axis=1).max() > width
    nothing = draw_detections(black, _result([[10, 10, 50, 50]], [1], [0.1]), score_threshold=0.3)
    assert np.array_equal(np.asarray(nothing), black)
