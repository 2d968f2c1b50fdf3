import numpy as np
import pytest
import torch
from PIL import Image

from mobilevit.data.datasets import ImageDataset, find_images, read_annotation, read_class_names, scan_folders
from mobilevit.data.image import ImageReadError
from mobilevit.data.loader import collate
from mobilevit.data.sampler import SampleRequest
from mobilevit.data.transforms import EvalTransform, Preprocessing, TrainTransform, random_resized_crop_box

SMALL = Preprocessing(resize_short=36, crop_size=32)


def _image(path, color, size=(40, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)


@pytest.fixture
def folder_tree(tmp_path):
    for split in ("train", "val"):
        _image(tmp_path / split / "n02" / "a.JPEG", (0, 0, 255))
        _image(tmp_path / split / "n01" / "b.png", (255, 0, 0))
        _image(tmp_path / split / "n01" / "deeper" / "c.jpg", (255, 0, 0))
    (tmp_path / "train" / "n01" / "notes.txt").write_text("not an image, and not listed")
    return tmp_path


def test_folder_layout(folder_tree):
    images = scan_folders(folder_tree / "train")
    assert images.class_names == ("n01", "n02")
    assert [(path.name, label) for path, label in images.samples] == [("b.png", 0), ("c.jpg", 0), ("a.JPEG", 1)]
    assert find_images("auto", folder_tree, "val", "meta/val.txt").class_names == ("n01", "n02")
    assert scan_folders(folder_tree / "val", ("n00", "n01", "n02")).samples[-1][1] == 2
    with pytest.raises(ValueError, match="not among the 1 classes"):
        scan_folders(folder_tree / "val", ("n01",))
    with pytest.raises(FileNotFoundError, match="image folder not found"):
        scan_folders(folder_tree / "test")


def test_annotation_layout(tmp_path):
    _image(tmp_path / "train" / "n01" / "x.JPEG", (1, 2, 3))
    _image(tmp_path / "train" / "n02" / "y.JPEG", (1, 2, 3))
    _image(tmp_path / "val" / "v1.JPEG", (1, 2, 3))
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "train.txt").write_text("n01/x.JPEG 0\nn02/y.JPEG 1\n")
    (tmp_path / "meta" / "val.txt").write_text("v1.JPEG 1\n\n")
    train = find_images("auto", tmp_path, "train", "meta/train.txt")
    assert train.class_names == ("n01", "n02")  # named after their folders
    val = find_images("annotation", tmp_path, "val", "meta/val.txt", train.class_names)
    assert val.samples == [(tmp_path / "val" / "v1.JPEG", 1)] and val.class_names == ("n01", "n02")
    assert read_annotation(tmp_path / "meta" / "val.txt", tmp_path / "val").class_names == ("0", "1")
    (tmp_path / "meta" / "bad.txt").write_text("n01/x.JPEG zero\n")
    with pytest.raises(ValueError, match="bad.txt, line 1"):
        read_annotation(tmp_path / "meta" / "bad.txt", tmp_path / "train")
    (tmp_path / "classes.txt").write_text("tench\ngoldfish\n")
    assert read_class_names("classes.txt", tmp_path) == ("tench", "goldfish")


def test_unreadable_images_name_the_file_or_are_skipped(folder_tree):
    bad = folder_tree / "train" / "n01" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 truncated")
    images = scan_folders(folder_tree / "train")
    index = [path for path, _ in images.samples].index(bad)
    request = SampleRequest(index, 16, 16, seed=1)
    with pytest.raises(ImageReadError, match="broken.jpg"):
        ImageDataset(images, TrainTransform(SMALL))[request]
    sample = ImageDataset(images, TrainTransform(SMALL), skip_bad_images=True)[request]
    assert sample.image.shape == (3, 16, 16) and "broken.jpg" in sample.skipped[0]
    evaluation = ImageDataset(images, EvalTransform(SMALL), skip_bad_images=True)[index]
    assert evaluation.label == -1 and "broken.jpg" in evaluation.skipped[0]
    batch = collate([evaluation, ImageDataset(images, EvalTransform(SMALL))[0]])
    assert batch.images.shape == (2, 3, 32, 32) and batch.labels.tolist() == [-1, 0] and len(batch.skipped) == 1


def test_train_transform_crops_at_the_requested_size_deterministically(tmp_path):
    path = tmp_path / "photo.jpg"
    pixels = np.zeros((600, 800, 3), dtype=np.uint8)
    pixels[..., 0] = 255  # pure red
    Image.fromarray(pixels).save(path, quality=95)
    transform = TrainTransform(Preprocessing(), scale=(0.5, 1.0))
    out = transform(path, (24, 40), torch.Generator().manual_seed(0))
    assert out.shape == (3, 24, 40) and out.dtype == torch.float32
    assert out[2].mean() > 0.95 and out[:2].abs().max() < 0.05  # BGR in [0, 1]: red comes last
    again = transform(path, (24, 40), torch.Generator().manual_seed(0))
    assert torch.equal(out, again)


def test_random_resized_crop_box_stays_inside():
    generator = torch.Generator().manual_seed(0)
    for width, height in ((50, 40), (300, 20), (7, 900)):
        for _ in range(50):
            left, top, crop_width, crop_height = random_resized_crop_box(
                width, height, (0.08, 1.0), (3 / 4, 4 / 3), generator
            )
            assert 0 <= left and left + crop_width <= width and 0 <= top and top + crop_height <= height
            assert crop_width > 0 and crop_height > 0


def test_thin_and_oversized_resizes_are_bad_images_that_can_be_skipped(folder_tree):
    Image.new("RGB", (1, 2000)).save(folder_tree / "train" / "n01" / "thin.png")
    Image.new("RGB", (400, 20)).save(folder_tree / "train" / "n01" / "wide.png")  # 20:1, allowed
    images = scan_folders(folder_tree / "train")
    paths = [path.name for path, _ in images.samples]
    thin, wide = paths.index("thin.png"), paths.index("wide.png")
    with pytest.raises(ImageReadError, match="thin.png: 1x2000 pixels is an aspect ratio beyond"):
        ImageDataset(images, TrainTransform(SMALL))[SampleRequest(thin, 16, 16, seed=1)]
    sample = ImageDataset(images, TrainTransform(SMALL), skip_bad_images=True)[SampleRequest(thin, 16, 16, seed=1)]
    assert sample.image.shape == (3, 16, 16) and "thin.png" in sample.skipped[0]
    assert ImageDataset(images, EvalTransform(SMALL), skip_bad_images=True)[thin].label == -1
    # short edge 20 -> 2000 makes 40000x2000 pixels, more than the resize limit
    large = Preprocessing(resize_short=2000, crop_size=32)
    with pytest.raises(ImageReadError, match="wide.png: resizing it would make 40000x2000 pixels, more than"):
        ImageDataset(images, EvalTransform(large))[wide]
    skipped = ImageDataset(images, EvalTransform(large), skip_bad_images=True)[wide]
    assert skipped.label == -1 and "40000x2000" in skipped.skipped[0]


def test_a_training_split_refuses_a_class_without_images(folder_tree, tmp_path):
    (folder_tree / "train" / "n03").mkdir()
    (folder_tree / "train" / "n03" / "readme.txt").write_text("no images here")
    assert scan_folders(folder_tree / "train").class_names == ("n01", "n02", "n03")  # a validation split may
    with pytest.raises(ValueError, match=r"class 'n03' has no images \(.*\) in .*train/n03; 1 of the 3 classes"):
        find_images("folder", folder_tree, "train", "meta/train.txt", every_class=True)
    with pytest.raises(ValueError, match=r"class 'n00' has no images"):
        scan_folders(folder_tree / "val", ("n00", "n01", "n02"), every_class=True)
    (tmp_path / "train.txt").write_text("a.png 0\nb.png 2\n")
    with pytest.raises(ValueError, match="train.txt lists no images of label 1; 1 of the 3 classes"):
        read_annotation(tmp_path / "train.txt", tmp_path, every_class=True)


def test_gif_images_are_taken_as_by_predict(folder_tree):
    Image.new("P", (40, 30)).save(folder_tree / "train" / "n02" / "frame.gif")
    images = scan_folders(folder_tree / "train")
    assert ("frame.gif", 1) in [(path.name, label) for path, label in images.samples]
    index = [path.name for path, _ in images.samples].index("frame.gif")
    assert ImageDataset(images, EvalTransform(SMALL))[index].image.shape == (3, 32, 32)
