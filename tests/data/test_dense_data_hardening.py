"""Bad segmentation and detection data, and the file walks and text files of every data set:
each ends in an error naming the file and the value, or in the correct result."""

import os

import numpy as np
import pytest
from PIL import Image

from mobilevit.data.datasets import image_files, read_annotation, read_class_names, scan_folders
from mobilevit.data.segmentation import (
    IGNORE_INDEX,
    MaskError,
    SegmentationDataset,
    find_pairs,
    read_mask,
    read_pair,
    save_palette_mask,
)
from mobilevit.data.transforms import EvalTransform, Preprocessing

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
