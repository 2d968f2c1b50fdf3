"""Detection data: COCO files and boxes files, their errors, the augmentation and the batches."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from mobilevit.data.detection import (
    DetectionDataset,
    DetectionTrainTransform,
    collate_detections,
    find_detections,
    read_boxes_file,
    read_coco,
)
from mobilevit.data.sampler import SampleRequest


def write_coco(tmp_path, annotations, categories=((7, "cat"), (3, "dog")), size=(60, 40)):
    images = tmp_path / "images"
    images.mkdir(exist_ok=True)
    for image_id in (1, 2):
        Image.fromarray(np.full((size[1], size[0], 3), 100 * image_id, np.uint8)).save(images / f"{image_id}.png")
    content = {
        "images": [
            {"id": image_id, "file_name": f"{image_id}.png", "width": size[0], "height": size[1]} for image_id in (1, 2)
        ],
        "categories": [{"id": category, "name": name} for category, name in categories],
        "annotations": [{"id": number, "iscrowd": 0, **annotation} for number, annotation in enumerate(annotations)],
    }
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(content))
    return path, images


def test_coco_labels_are_contiguous_over_sorted_category_ids_crowds_kept_apart_degenerate_dropped(tmp_path):
    path, images = write_coco(
        tmp_path,
        [
            {"image_id": 1, "category_id": 7, "bbox": [10, 5, 20, 10]},
            {"image_id": 1, "category_id": 3, "bbox": [0, 0, 5, 5], "iscrowd": 1},
            {"image_id": 2, "category_id": 3, "bbox": [1, 1, 0, 4]},  # no width: dropped
        ],
    )
    detections = read_coco(path, images)
    assert detections.class_names == ("dog", "cat") and detections.category_ids == (3, 7)
    first, second = detections.images
    assert first.boxes.tolist() == [[10, 5, 30, 15], [0, 0, 5, 5]] and first.labels.tolist() == [2, 1]
    boxes, labels = first.training_boxes()
    assert boxes.tolist() == [[10, 5, 30, 15]] and labels.tolist() == [2]
    assert len(second.boxes) == 0
    assert [image.image_id for image in detections.with_boxes().images] == [1]


@pytest.mark.parametrize(
    "annotation, message",
    [
        ({"image_id": 1, "category_id": 5, "bbox": [0, 0, 4, 4]}, "unknown category id 5"),
        ({"image_id": 9, "category_id": 3, "bbox": [0, 0, 4, 4]}, "unknown image id 9"),
        ({"image_id": 1, "category_id": 3, "bbox": [50, 0, 20, 4]}, "outside the 60x40 image"),
        ({"image_id": 1, "category_id": 3}, "bbox"),
    ],
)
def test_coco_errors_name_the_file_and_annotation(tmp_path, annotation, message):
    path, images = write_coco(tmp_path, [annotation])
    with pytest.raises(ValueError, match=message) as error:
        read_coco(path, images)
    assert str(path) in str(error.value) and "annotation 0" in str(error.value)


def test_unreadable_annotation_files_are_named(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="cannot read annotation file .*broken.json"):
        read_coco(broken, tmp_path)
    with pytest.raises(FileNotFoundError, match="missing.json"):
        find_detections("auto", tmp_path / "missing.json", tmp_path)


def test_boxes_file_reads_names_and_indices_and_checks_boxes_against_the_image(tmp_path):
    Image.new("RGB", (50, 30)).save(tmp_path / "a.png")
    path = tmp_path / "boxes.json"
    path.write_text(
        json.dumps(
            {
                "classes": ["cat", "dog"],
                "images": [{"file": "a.png", "boxes": [[1, 2, 11, 12], [5, 5, 50, 30]], "labels": ["dog", 0]}],
            }
        )
    )
    detections = find_detections("auto", path, tmp_path)
    assert detections.class_names == ("cat", "dog") and detections.category_ids == (1, 2)
    assert detections.images[0].labels.tolist() == [2, 1]
    path.write_text(
        json.dumps({"classes": ["cat"], "images": [{"file": "a.png", "boxes": [[0, 0, 60, 10]], "labels": ["cat"]}]})
    )
    with pytest.raises(ValueError, match="a.png.*outside the 50x30 image"):
        read_boxes_file(path, tmp_path)
    path.write_text(
        json.dumps({"classes": ["cat"], "images": [{"file": "a.png", "boxes": [[0, 0, 6, 10]], "labels": ["bird"]}]})
    )
    with pytest.raises(ValueError, match="unknown class 'bird'"):
        read_boxes_file(path, tmp_path)


def test_training_samples_are_augmented_reproducibly_and_evaluation_samples_resized(tmp_path):
    path, images = write_coco(
        tmp_path,
        [
            {"image_id": 1, "category_id": 7, "bbox": [10, 5, 20, 10]},
            {"image_id": 2, "category_id": 3, "bbox": [30, 20, 20, 15]},
        ],
    )
    detections = read_coco(path, images)
    train = DetectionDataset(detections, 32, DetectionTrainTransform(32))
    state = torch.get_rng_state()
    first, again = train[SampleRequest(0, 32, 32, seed=5)], train[SampleRequest(0, 32, 32, seed=5)]
    assert torch.equal(torch.get_rng_state(), state)  # the global random state is left alone
    assert torch.equal(first.image, again.image) and torch.equal(first.boxes, again.boxes)
    assert first.image.shape == (3, 32, 32) and first.image.max() <= 1
    assert ((first.boxes >= 0) & (first.boxes <= 32)).all()
    evaluation = DetectionDataset(detections, 32)
    batch = collate_detections([evaluation[0], evaluation[1]])
    assert batch.images.shape == (2, 3, 32, 32) and batch.image_ids.tolist() == [1, 2]
    assert batch.image_sizes.tolist() == [[40, 60], [40, 60]]
    assert torch.allclose(batch.boxes[0], torch.tensor([[10 * 32 / 60, 5 * 32 / 40, 30 * 32 / 60, 15 * 32 / 40]]))
