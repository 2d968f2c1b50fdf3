"""Segmentation data: the three layouts, masks checked against their images, joint transforms."""

import numpy as np
import pytest
import torch
from PIL import Image

from mobilevit.data.segmentation import (
    IGNORE_INDEX,
    MaskError,
    SegmentationTrainTransform,
    find_pairs,
    read_pair,
    save_palette_mask,
    voc_palette,
)
from mobilevit.data.transforms import EvalTransform, Preprocessing

# pixel values kept as they are; whole images resized for evaluation
RAW = Preprocessing(resize_short=16, crop_size=16, channel_order="RGB", std=(1.0, 1.0, 1.0), keep_aspect_ratio=False)


def _write_pair(image_path, mask_path, mask, image=None):
    image_path.parent.mkdir(parents=True, exist_ok=True)
    mask_path.parent.mkdir(parents=True, exist_ok=True)
    pixels = image if image is not None else np.repeat((mask.astype(np.uint8) * 10)[..., None], 3, axis=2)
    Image.fromarray(pixels).save(image_path)
    save_palette_mask(mask, mask_path)


def _stripes(height=12, width=20):
    mask = np.zeros((height, width), np.uint8)
    mask[:, 5:9], mask[:, 12:14], mask[2, :] = 1, 2, IGNORE_INDEX
    return mask


def test_voc_sbd_lists_and_pairs_layouts(tmp_path):
    voc = tmp_path / "VOC2012"
    for name in ("2007_000032", "2007_000039"):
        _write_pair(voc / "JPEGImages" / f"{name}.jpg", voc / "SegmentationClass" / f"{name}.png", _stripes())
        _write_pair(voc / "JPEGImages" / f"{name}.jpg", voc / "SegmentationClassAug" / f"{name}.png", _stripes())
    (voc / "ImageSets" / "Segmentation").mkdir(parents=True)
    (voc / "ImageSets" / "Segmentation" / "val.txt").write_text("2007_000032\n2007_000039\n")
    (voc / "list").mkdir()
    (voc / "list" / "train_aug.txt").write_text("JPEGImages/2007_000039.jpg SegmentationClassAug/2007_000039.png\n")
    assert [image.name for image, _ in find_pairs("voc", voc, "val", "").samples] == [
        "2007_000032.jpg",
        "2007_000039.jpg",
    ]
    (pair,) = find_pairs("voc_aug", voc, "train", "list/train_aug.txt").samples
    assert pair == (voc / "JPEGImages/2007_000039.jpg", voc / "SegmentationClassAug/2007_000039.png")
    _write_pair(tmp_path / "custom/images/train/a.png", tmp_path / "custom/masks/train/a.png", _stripes())
    (pair,) = find_pairs("pairs", tmp_path / "custom", "train", "").samples
    assert pair[1] == tmp_path / "custom/masks/train/a.png"
    image, mask = read_pair(*pair, num_classes=3)
    assert image.shape == (12, 20, 3) and np.array_equal(mask, _stripes())  # the palette PNG gives indices back


def test_palette_masks_look_like_voc(tmp_path):
    palette = voc_palette()
    assert palette[:9] == [0, 0, 0, 128, 0, 0, 0, 128, 0] and palette[255 * 3 :] == [224, 224, 192]
    save_palette_mask(_stripes(), tmp_path / "m.png")
    with Image.open(tmp_path / "m.png") as written:
        assert written.mode == "P" and written.convert("RGB").getpixel((6, 0)) == (128, 0, 0)


def test_bad_masks_name_the_file(tmp_path):
    root = tmp_path / "custom"
    _write_pair(root / "images/train/ok.png", root / "masks/train/ok.png", _stripes())
    (root / "images/train/lonely.png").write_bytes((root / "images/train/ok.png").read_bytes())
    with pytest.raises(MaskError, match=r"mask not found: .*masks/train/lonely.png \(the mask of .*lonely.png\)"):
        find_pairs("pairs", root, "train", "")
    image_path, mask_path = tmp_path / "a.png", tmp_path / "a_mask.png"
    _write_pair(image_path, mask_path, _stripes(), image=np.zeros((10, 20, 3), np.uint8))
    with pytest.raises(MaskError, match=r"a_mask.png is 20x12 but its image .*a.png is 20x10"):
        read_pair(image_path, mask_path, num_classes=3)
    bad = _stripes()
    bad[0, 0] = 7
    _write_pair(image_path, mask_path, bad)
    with pytest.raises(MaskError, match=r"a_mask.png holds the value\(s\) \[7\], neither a class \(0-2\) nor 255"):
        read_pair(image_path, mask_path, num_classes=3)
    Image.fromarray(np.zeros((12, 20, 3), np.uint8)).save(mask_path)
    with pytest.raises(MaskError, match="a_mask.png is a RGB image: a mask must be a single-channel or palette"):
        read_pair(image_path, mask_path, num_classes=3)


def test_joint_transform_keeps_image_and_mask_aligned():
    mask = _stripes()
    image = np.repeat((mask * 10)[..., None], 3, axis=2)
    transform = SegmentationTrainTransform(RAW, (12, 12), horizontal_flip=True)  # no resampling: exact values
    orders = set()
    for seed in range(8):
        crop, target = transform(image, mask, (16, 16), torch.Generator().manual_seed(seed))
        assert crop.shape == (3, 16, 16) and target.shape == (16, 16) and target.dtype == torch.int64
        assert (target[12:] == IGNORE_INDEX).all()  # 12 rows padded to 16 with 255 in the mask ...
        assert (crop[:, 12:] == 0).all()  # ... and 0 in the image
        labelled = target != IGNORE_INDEX
        assert torch.equal(crop[0][labelled], 10.0 * target[labelled])  # each pixel kept its class
        row = target[0].tolist()
        orders.add(row.index(1) < row.index(2))  # flipped, class 2 comes first
    assert orders == {True, False}
    first, second = (transform(image, mask, (16, 16), torch.Generator().manual_seed(3)) for _ in range(2))
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])  # the seed decides


def test_masks_are_resized_with_nearest_only():
    rng = np.random.default_rng(0)
    mask = rng.choice(np.array([0, 3, 5, IGNORE_INDEX], np.uint8), size=(30, 40))
    image = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
    transform = SegmentationTrainTransform(RAW, (17, 61), horizontal_flip=True)
    for seed in range(5):
        _, target = transform(image, mask, (24, 24), torch.Generator().manual_seed(seed))
        assert set(target.unique().tolist()) <= {0, 3, 5, IGNORE_INDEX}


def test_evaluation_resizes_the_whole_image_to_the_square_size():
    image = np.zeros((30, 50, 3), np.uint8)
    image[:, 25:] = 200
    resized = EvalTransform(RAW)(image)
    assert resized.shape == (3, 16, 16)  # aspect ratio not kept, nothing cropped
    assert resized[0, :, :7].eq(0).all() and resized[0, :, 9:].eq(200).all()
