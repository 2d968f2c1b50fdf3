"""Bad segmentation and detection data, and the file walks and text files of every data set:
each ends in an error naming the file and the value, or in the correct result."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from mobilevit.cli import main as cli
from mobilevit.config import ConfigError, load_config
from mobilevit.data.datasets import image_files, read_annotation, read_class_names, scan_folders
from mobilevit.data.detection import AnnotationError, DetectionDataset, find_detections, read_boxes_file, read_coco
from mobilevit.data.image import ImageReadError
from mobilevit.data.sampler import BatchShape, SampleRequest, VariableBatchSampler
from mobilevit.data.segmentation import (
    IGNORE_INDEX,
    MaskError,
    SegmentationDataset,
    SegmentationTrainTransform,
    find_pairs,
    read_mask,
    read_pair,
    save_palette_mask,
)
from mobilevit.data.transforms import EvalTransform, Preprocessing
from mobilevit.tasks.detection import DETECTION

RAW = Preprocessing(resize_short=16, crop_size=16, channel_order="RGB", std=(1.0, 1.0, 1.0), keep_aspect_ratio=False)


def _jpeg(path, width, height, orientation=1, color=(200, 30, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    Image.new("RGB", (width, height), color).save(path, exif=exif)
    return path


# --- masks: their own integer range, the classes and 255 only ---


def test_a_16_bit_mask_is_read_in_its_own_range_and_refused_beyond_the_classes(tmp_path):
    values = np.array([[0, 1], [IGNORE_INDEX, 2]], np.uint16)
    Image.fromarray(values).save(tmp_path / "ok.png")
    assert Image.open(tmp_path / "ok.png").mode == "I;16"
    assert read_mask(tmp_path / "ok.png", 3).tolist() == values.tolist()
    Image.fromarray(np.array([[0, 260]], np.uint16)).save(tmp_path / "wraps.png")  # 260 would wrap to class 4
    with pytest.raises(MaskError, match=r"wraps.png holds the value\(s\) \[260\], neither a class \(0-20\)"):
        read_mask(tmp_path / "wraps.png", 21)


def test_an_int32_mask_with_a_negative_value_is_refused_naming_it(tmp_path):
    Image.fromarray(np.array([[0, -255], [1, 2]], np.int32)).save(tmp_path / "negative.tif")
    assert Image.open(tmp_path / "negative.tif").mode == "I"
    with pytest.raises(MaskError, match=r"negative.tif holds the value\(s\) \[-255\]"):
        read_mask(tmp_path / "negative.tif", 21)
    Image.fromarray(np.array([[0, 255], [1, 2]], np.int32)).save(tmp_path / "fine.tif")
    assert read_mask(tmp_path / "fine.tif", 3).tolist() == [[0, 255], [1, 2]]


def test_more_classes_than_masks_can_hold_are_refused_before_reading(tmp_path):
    Image.fromarray(np.array([[0, 260]], np.uint16)).save(tmp_path / "mask.png")
    with pytest.raises(MaskError, match="at most 255 classes: got 300 \\(model.num_classes\\)"):
        read_mask(tmp_path / "mask.png", 300)
    pairs = find_pairs("pairs", *_pairs_layout(tmp_path / "data"))
    with pytest.raises(MaskError, match="at most 255 classes"):
        SegmentationDataset(pairs, EvalTransform(RAW), 256)


def _pairs_layout(root, image_size=(20, 12), orientation=1, mask=None):
    width, height = image_size
    _jpeg(root / "images" / "train" / "a.jpg", width, height, orientation)
    (root / "masks" / "train").mkdir(parents=True, exist_ok=True)
    save_palette_mask(mask if mask is not None else np.zeros((height, width), np.uint8), root / "masks/train/a.png")
    return root, "train", ""


# --- one orientation rule: images and their masks and boxes are read upright ---


def test_a_mask_is_read_in_the_upright_frame_of_its_rotated_image(tmp_path):
    upright_mask = np.zeros((20, 12), np.uint8)  # the photo is 20 wide, 12 high on disk; turned 90 degrees by EXIF
    upright_mask[:5] = 1
    root, split, _ = _pairs_layout(tmp_path, (20, 12), orientation=6, mask=upright_mask)
    image, mask = read_pair(root / "images/train/a.jpg", root / "masks/train/a.png", 2)
    assert image.shape[:2] == mask.shape == (20, 12)
    stored_frame = np.zeros((12, 20), np.uint8)
    save_palette_mask(stored_frame, root / "masks/train/a.png")
    with pytest.raises(MaskError, match="EXIF orientation turns it by 90 degrees: a mask is read in the upright frame"):
        read_pair(root / "images/train/a.jpg", root / "masks/train/a.png", 2)


def test_a_mask_with_its_own_exif_orientation_is_turned_as_its_image(tmp_path):
    root, _, _ = _pairs_layout(tmp_path, (20, 12), orientation=6)
    stored = np.zeros((12, 20), np.uint8)
    stored[:, :4] = 1  # the left edge on disk, the top once turned (orientation 6: 90 degrees clockwise)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(root / "masks/train/a.png", exif=exif)
    image, mask = read_pair(root / "images/train/a.jpg", root / "masks/train/a.png", 2)
    assert mask.shape == (20, 12) and mask[:4].all() and not mask[4:].any()


# --- walks: links followed, loops not ---


def _png(path, color=(10, 20, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), color).save(path)


def test_a_class_folder_with_a_symlink_loop_gives_each_image_once(tmp_path):
    for index in range(4):
        _png(tmp_path / "train" / "cat" / f"{index}.png")
    for index in range(2):
        _png(tmp_path / "train" / "dog" / "inner" / f"{index}.png")
    os.symlink("..", tmp_path / "train" / "cat" / "loop")
    os.symlink("../..", tmp_path / "train" / "dog" / "inner" / "loop")
    images = scan_folders(tmp_path / "train")
    assert len(images.samples) == 6
    assert [label for _, label in images.samples] == [0, 0, 0, 0, 1, 1]


def test_walks_follow_links_to_other_folders_once(tmp_path):
    _png(tmp_path / "elsewhere" / "x.png")
    (tmp_path / "photos").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "photos" / "linked")
    os.symlink(tmp_path / "elsewhere", tmp_path / "photos" / "linked_again")
    assert [path.relative_to(tmp_path).as_posix() for path in image_files(tmp_path / "photos")] == [
        "photos/linked/x.png"
    ]


def test_the_pairs_layout_walks_without_loops(tmp_path):
    root, split, _ = _pairs_layout(tmp_path)
    os.symlink("..", root / "images" / "train" / "loop")
    assert len(find_pairs("pairs", root, split, "").samples) == 1


def test_an_image_name_that_is_not_utf8_is_refused_naming_it(tmp_path):
    _png(tmp_path / "train" / "cat" / "a.png")
    folder = os.fsencode(tmp_path / "train" / "cat")
    os.rename(folder + b"/a.png", folder + b"/\xff\xfe.png")
    with pytest.raises(ValueError, match=r"the file name .*cat/\\xff\\xfe.png is not valid UTF-8: rename it"):
        scan_folders(tmp_path / "train")


# --- list and class files must be UTF-8, and their errors name them ---


def test_list_and_class_files_that_are_not_utf8_are_refused_naming_them(tmp_path):
    (tmp_path / "classes.txt").write_bytes("chat\nb\xe9te\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"class names file .*classes.txt is not UTF-8 text .*: save it as UTF-8"):
        read_class_names("classes.txt", tmp_path)
    voc = tmp_path / "VOC2012"
    (voc / "ImageSets" / "Segmentation").mkdir(parents=True)
    (voc / "ImageSets" / "Segmentation" / "train.txt").write_bytes(b"2007_\xff000032\n")
    with pytest.raises(ValueError, match=r"VOC split file .*train.txt is not UTF-8"):
        find_pairs("voc", voc, "train", "")
    (tmp_path / "list.txt").write_bytes(b"JPEGImages/\xe9.jpg SegmentationClassAug/\xe9.png\n")
    with pytest.raises(ValueError, match=r"list file .*list.txt is not UTF-8"):
        find_pairs("voc_aug", tmp_path, "train", "list.txt")
    (tmp_path / "meta.txt").write_bytes(b"cat/\xe9.png 0\n")
    with pytest.raises(ValueError, match=r"annotation file .*meta.txt is not UTF-8"):
        read_annotation(tmp_path / "meta.txt", tmp_path)


# --- COCO files and boxes files, field by field ---


def _coco(tmp_path, images=None, categories=None, annotations=None, **extra):
    folder = tmp_path / "images"
    folder.mkdir(exist_ok=True)
    for name in ("1.png", "2.png"):
        Image.new("RGB", (64, 48), (90, 90, 90)).save(folder / name)
    content = {
        "images": images
        if images is not None
        else [
            {"id": 1, "file_name": "1.png", "width": 64, "height": 48},
            {"id": 2, "file_name": "2.png", "width": 64, "height": 48},
        ],
        "categories": categories if categories is not None else [{"id": 3, "name": "dog"}, {"id": 7, "name": "cat"}],
        "annotations": annotations
        if annotations is not None
        else [{"id": 10, "image_id": 1, "category_id": 7, "bbox": [4, 4, 20, 10], "iscrowd": 0}],
        **extra,
    }
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(content))
    return path, folder


def _annotation(**changes):
    return [{"id": 10, "image_id": 1, "category_id": 7, "bbox": [4, 4, 20, 10], "iscrowd": 0, **changes}]


@pytest.mark.parametrize(
    "changes, message",
    [
        (
            dict(bbox=[4, 4, -5, 10]),
            r"annotation 10 \(image 1.png\): bbox \[4.0, 4.0, -5.0, 10.0\] has a negative width",
        ),
        (dict(bbox=[4, 4, float("nan"), 10]), r"annotation 10 \(image 1.png\): bbox .* must be a list of 4 finite"),
        (dict(bbox=[4, 4, float("inf"), 10]), r"annotation 10 \(image 1.png\): bbox .* must be a list of 4 finite"),
        (dict(bbox=["4", 4, 5, 10]), r"annotation 10 \(image 1.png\): bbox .* must be a list of 4 finite"),
        (dict(bbox=[4, 4, 5]), r"annotation 10 \(image 1.png\): bbox .* must be a list of 4 finite"),
        (dict(iscrowd="0"), r"annotation 10 \(image 1.png\): iscrowd must be an integer, got '0'"),
        (dict(iscrowd=2), r"annotation 10 \(image 1.png\): iscrowd must be 0 or 1, got 2"),
        (dict(iscrowd=True), r"annotation 10 \(image 1.png\): iscrowd must be an integer, got True"),
        (dict(area=float("nan")), r"annotation 10 \(image 1.png\): area must be a finite number >= 0"),
        (dict(category_id="7"), r"annotation 10 \(image 1.png\): category_id must be an integer, got '7'"),
        (dict(image_id=None), r"annotation 10: image_id must be an integer, got None"),
    ],
)
def test_coco_annotations_are_checked_field_by_field(tmp_path, changes, message):
    path, folder = _coco(tmp_path, annotations=_annotation(**changes))
    with pytest.raises(AnnotationError, match=message) as error:
        read_coco(path, folder)
    assert str(path) in str(error.value)


@pytest.mark.parametrize(
    "images, message",
    [
        ([{"id": 1, "file_name": "1.png", "height": 48}], r"image 1.png \(id 1\): the field 'width' is missing"),
        ([{"id": 1, "width": 64, "height": 48}], r"image 0 \(id 1\): the field 'file_name' is missing"),
        (
            [{"id": 1, "file_name": "1.png", "width": "sixty-four", "height": 48}],
            r"image 1.png \(id 1\): width must be an integer of at least 1, got 'sixty-four'",
        ),
        ([{"id": 1, "file_name": "1.png", "width": 0, "height": 48}], r"width must be an integer of at least 1, got 0"),
        ([{"id": 1, "file_name": 5, "width": 64, "height": 48}], r"image 0 \(id 1\): file_name must be a non-empty"),
        (
            [
                {"id": 1, "file_name": "1.png", "width": 64, "height": 48},
                {"id": 1, "file_name": "2.png", "width": 64, "height": 48},
            ],
            r"image 2.png \(id 1\): the image id 1 is already that of 1.png",
        ),
        (["1.png"], r"image 0: expected an object"),
    ],
)
def test_coco_images_are_checked_field_by_field(tmp_path, images, message):
    path, folder = _coco(tmp_path, images=images, annotations=[])
    with pytest.raises(AnnotationError, match=message):
        read_coco(path, folder)


def test_coco_sections_and_categories_are_checked(tmp_path):
    path, folder = _coco(tmp_path, categories=[{"id": 3, "name": "dog"}, {"id": 3, "name": "cat"}])
    with pytest.raises(AnnotationError, match=r"category 1: the category id 3 is already that of 'dog'"):
        read_coco(path, folder)
    path, folder = _coco(tmp_path, annotations={"id": 1})
    with pytest.raises(AnnotationError, match=r"instances.json: annotations must be a list, got \{'id': 1\}"):
        read_coco(path, folder)
    path.write_text(json.dumps([1, 2]))
    with pytest.raises(AnnotationError, match=r"instances.json \(a COCO annotation file\): expected an object"):
        read_coco(path, folder)
    path.write_text(json.dumps({"images": []}))
    with pytest.raises(AnnotationError, match=r"instances.json: the field 'categories' is missing"):
        read_coco(path, folder)


def test_integral_numbers_and_zero_size_boxes_are_read_as_before(tmp_path):
    images = [{"id": 1, "file_name": "1.png", "width": 64.0, "height": 48}]
    annotations = _annotation(bbox=[4, 4, 0, 10]) + [
        {"id": 11, "image_id": 1, "category_id": 3, "bbox": [1.5, 2, 3, 4], "iscrowd": 1, "area": 12}
    ]
    detections = read_coco(*_coco(tmp_path, images=images, annotations=annotations))
    image = detections.images[0]
    assert image.width == 64 and image.boxes.tolist() == [[1.5, 2, 4.5, 6]] and image.crowd.tolist() == [True]


def _boxes_file(tmp_path, content):
    Image.new("RGB", (50, 30)).save(tmp_path / "a.png")
    path = tmp_path / "boxes.json"
    path.write_text(json.dumps(content))
    return path


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"file": 7, "boxes": [], "labels": []}, r"image 0: file must be a non-empty string, got 7"),
        ({"file": ["a.png"], "boxes": [], "labels": []}, r"image 0: file must be a non-empty string"),
        ({"file": "a.png", "boxes": None, "labels": []}, r"image 0 \(a.png\): boxes must be a list, got None"),
        ({"file": "a.png", "boxes": ["1, 2, 3, 4"], "labels": ["cat"]}, r"\(a.png\): box 0 .* 4 finite numbers"),
        (
            {"file": "a.png", "boxes": [["1", "2", "3", "4"]], "labels": ["cat"]},
            r"image 0 \(a.png\): box 0 \[x1, y1, x2, y2\] must be a list of 4 finite numbers",
        ),
        ({"file": "a.png", "boxes": [[1, 2, float("nan"), 4]], "labels": ["cat"]}, r"\(a.png\): box 0 .* finite"),
        ({"file": "a.png", "boxes": [[9, 2, 3, 4]], "labels": ["cat"]}, r"\(a.png\): box .* is reversed"),
        ({"file": "a.png", "boxes": [[1, 2, 3, 4]], "labels": [None]}, r"\(a.png\): unknown class None"),
        ({"file": "a.png", "boxes": [[1, 2, 3, 4]]}, r"image 0 \(a.png\): the field 'labels' is missing"),
    ],
)
def test_boxes_files_are_checked_field_by_field(tmp_path, entry, message):
    path = _boxes_file(tmp_path, {"classes": ["cat", "dog"], "images": [entry]})
    with pytest.raises(AnnotationError, match=message) as error:
        read_boxes_file(path, tmp_path)
    assert str(path) in str(error.value)


def test_a_validation_boxes_file_with_its_classes_in_another_order_is_matched_by_name(tmp_path):
    path = _boxes_file(
        tmp_path,
        {
            "classes": ["dog", "cat"],
            "images": [{"file": "a.png", "boxes": [[1, 1, 9, 9], [2, 2, 8, 8]], "labels": [1, "dog"]}],
        },
    )
    detections = find_detections("boxes", path, tmp_path, class_names=("cat", "dog"))
    assert detections.class_names == ("cat", "dog")
    assert detections.images[0].labels.tolist() == [1, 2]  # cat is label 1 in training, index 1 in the file
    path.write_text(
        json.dumps({"classes": ["dog", "bird"], "images": [{"file": "a.png", "boxes": [[1, 1, 9, 9]], "labels": [1]}]})
    )
    with pytest.raises(AnnotationError, match=r"unknown class 'bird' in labels; classes are \['cat', 'dog'\]"):
        find_detections("boxes", path, tmp_path, class_names=("cat", "dog"))


def test_a_validation_coco_file_with_other_category_ids_is_matched_by_name(tmp_path):
    categories = [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]  # the training file's: dog 3, cat 7
    path, folder = _coco(tmp_path, categories=categories, annotations=_annotation(category_id=1))
    detections = find_detections("coco", path, folder, class_names=("dog", "cat"))
    assert detections.class_names == ("dog", "cat") and detections.category_ids == (2, 1)
    assert detections.images[0].labels.tolist() == [2]  # cat
    path, folder = _coco(tmp_path, categories=[{"id": 1, "name": "cat"}, {"id": 2, "name": "bird"}], annotations=[])
    with pytest.raises(AnnotationError, match=r"\['bird'\] are not among the training classes, \['dog'\] are missing"):
        find_detections("coco", path, folder, class_names=("dog", "cat"))


# --- detection: upright boxes, recorded sizes checked against the images ---


def test_a_detection_set_of_exif_rotated_jpegs_is_read_upright(tmp_path):
    _jpeg(tmp_path / "photo.jpg", 60, 40, orientation=6)  # 60x40 on disk, 40x60 upright
    path = _boxes_file(
        tmp_path, {"classes": ["cat"], "images": [{"file": "photo.jpg", "boxes": [[5, 30, 35, 58]], "labels": ["cat"]}]}
    )
    detections = read_boxes_file(path, tmp_path)
    image = detections.images[0]
    assert (image.width, image.height) == (40, 60)
    sample = DetectionDataset(detections, 32)[0]
    assert sample.image_size == (60, 40) and sample.boxes.shape == (1, 4)


def test_a_recorded_size_that_is_not_the_images_is_an_error_naming_both(tmp_path):
    _jpeg(tmp_path / "images" / "photo.jpg", 60, 40, orientation=6)
    images = [{"id": 1, "file_name": "photo.jpg", "width": 60, "height": 40}]  # the stored size, not the upright one
    path, folder = _coco(tmp_path, images=images, annotations=_annotation(bbox=[1, 1, 5, 5]))
    with pytest.raises(
        AnnotationError,
        match=r"photo.jpg is 40x60 \(upright\) but .*instances.json says 60x40, its size before its EXIF",
    ):
        DetectionDataset(read_coco(path, folder), 32)[0]
    images = [{"id": 1, "file_name": "photo.jpg", "width": 50, "height": 40}]
    path, folder = _coco(tmp_path, images=images, annotations=[])
    with pytest.raises(AnnotationError, match=r"photo.jpg is 40x60 \(upright\) but .*instances.json says 50x40$"):
        DetectionDataset(read_coco(path, folder), 32)[0]


# --- dense training: never a batch of one ---


def test_a_last_batch_of_one_joins_the_batch_before_it():
    shapes = [BatchShape(32, 32, 2), BatchShape(48, 48, 4)]
    for num_samples in range(2, 12):
        for epoch in range(3):
            sampler = VariableBatchSampler(num_samples, shapes, seed=epoch, min_batch_size=2)
            sampler.set_epoch(epoch)
            batches = list(sampler)
            assert all(len(batch) >= 2 for batch in batches)
            assert sorted(request.index for batch in batches for request in batch) == list(range(num_samples))
            assert all(len({(request.height, request.width) for request in batch}) == 1 for batch in batches)
    plain = VariableBatchSampler(5, [BatchShape(32, 32, 2)])
    assert [len(batch) for batch in plain] == [2, 2, 1]  # other tasks keep their last short batch
    with pytest.raises(ValueError, match="batches of 1 are fewer than the 2 images needed"):
        VariableBatchSampler(5, [BatchShape(32, 32, 1)], min_batch_size=2)
    with pytest.raises(ValueError, match="2 training image\\(s\\) shared by 3 process\\(es\\) make batches of fewer"):
        VariableBatchSampler(2, shapes, num_replicas=3, min_batch_size=2)


SEGMENTATION_CONFIG = """
task = "segmentation"
model = dict(arch=[["mobilenetv2", 8, 1, 1, 2], ["mobilevit", 16, 2, 16, 32, 1, 2]], num_classes=2,
             aspp_channels=8, atrous_rates=(1, 2), dropout=0.0)
data = dict(kind="pairs", root={root!r}, classes=["background", "thing"], batch_size=2, val_batch_size=2,
            num_workers=0, short_side_range=(24, 28), sampler=dict(variable=False, base_size=24),
            preprocessing=dict(resize_short=24, crop_size=24, keep_aspect_ratio=False))
schedule = dict(epochs=1, warmup_iters=1, warmup_start_lr=0.001, min_lr=0.001)
train = dict(work_dir={work_dir!r}, amp="none", ema=False, log_interval=1, progress_bar=False, checkpoint_steps=0)
"""


@pytest.fixture
def three_pairs(tmp_path):
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for index in range(3):
            mask = np.zeros((24, 24), np.uint8)
            mask[4 + index : 14, 6:18] = 1
            pixels = rng.integers(0, 60, (24, 24, 3), dtype=np.uint8) + 150 * mask[..., None].astype(np.uint8)
            (tmp_path / "images" / split).mkdir(parents=True, exist_ok=True)
            (tmp_path / "masks" / split).mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(tmp_path / "images" / split / f"{index}.png")
            save_palette_mask(mask, tmp_path / "masks" / split / f"{index}.png")
    config = tmp_path / "segmentation.py"
    config.write_text(SEGMENTATION_CONFIG.format(root=str(tmp_path), work_dir=str(tmp_path / "work")))
    return config


def test_segmentation_trains_on_three_images_in_batches_of_two(three_pairs, tmp_path):
    assert cli(["train", str(three_pairs)]) == 0  # the last batch of one would fail in the ASPP's pooling BatchNorm
    assert (tmp_path / "work" / "best.pth").is_file()


def test_dense_training_with_a_batch_of_one_is_refused_at_start_up(three_pairs, tmp_path, capsys):
    assert cli(["train", str(three_pairs), "--cfg-options", "data.batch_size=1"]) == 2
    error = capsys.readouterr().err
    assert (
        "data.batch_size=1 makes training batches of 1 image(s) at 24x24 per process: segmentation training " in error
    )
    assert "set data.batch_size >= 2" in error and not (tmp_path / "work" / "latest.pth").exists()
    # the segmentation settings back at their defaults: a detection config may not set them
    detection = ["task='detection'", "data.kind='boxes'", "data.batch_size=1", "model.atrous_rates=[6,12,18]"]
    config = load_config(three_pairs, [*detection, "model.aspp_channels=256"])
    with pytest.raises(ConfigError, match="data.batch_size=1 makes training batches of 1 image\\(s\\) at 320x320"):
        DETECTION.build_data(config, train=True)


def test_a_training_resize_beyond_the_pixel_limit_is_refused_naming_the_image(tmp_path):
    root, split, _ = _pairs_layout(tmp_path, (500, 10))  # 50:1, within the aspect limit
    pairs = find_pairs("pairs", root, split, "")
    transform = SegmentationTrainTransform(RAW, (1024, 1024), horizontal_flip=False)
    dataset = SegmentationDataset(pairs, transform, 2)
    with pytest.raises(ImageReadError, match=r"refusing .*a.jpg: resizing it would make 51200x1024 pixels"):
        dataset[SampleRequest(0, 16, 16, seed=0)]
