"""Calibration images for int8: prepared as the model's preprocessing says, unreadable ones named."""

import numpy as np
import pytest
import torch
from PIL import Image

from mobilevit.cli import main
from mobilevit.data.transforms import EvalTransform, Preprocessing
from mobilevit.export import calibration_images


def write_images(folder, count):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for index in range(count):
        Image.fromarray(rng.integers(0, 255, (20 + index, 30, 3), dtype=np.uint8)).save(folder / f"{index}.png")


def test_images_are_spread_over_the_folder_and_preprocessed(tmp_path):
    write_images(tmp_path / "a", 6)
    write_images(tmp_path / "b" / "deeper", 6)
    preprocessing = Preprocessing(resize_short=36, crop_size=32)
    images = calibration_images(tmp_path, preprocessing, count=4)
    assert images.shape == (4, 3, 32, 32)
    first = np.asarray(Image.open(tmp_path / "a" / "0.png").convert("RGB"))
    assert torch.equal(images[0], EvalTransform(preprocessing)(first))
    assert len(calibration_images(tmp_path, preprocessing, count=100)) == 12


def test_unreadable_images_are_named(tmp_path):
    write_images(tmp_path, 3)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match=r"2 of 5 calibration images could not be read: .*broken\.png.*empty\.jpg"):
        calibration_images(tmp_path, Preprocessing())


def test_user_errors_are_one_line(tmp_path, capsys):
    with pytest.raises(ValueError, match="no calibration images"):
        calibration_images(tmp_path, Preprocessing())
    with pytest.raises(FileNotFoundError, match="calibration images not found"):
        calibration_images(tmp_path / "missing", Preprocessing())
    assert (
        main(
            [
                "export",
                "mobilevit-xxsmall_3rdparty_in1k",
                "--checkpoint",
                "x.pth",
                "--format",
                "openvino",
                "--quantize",
                "int8",
            ]
        )
        == 2
    )
    assert "--quantize int8 needs calibration images: pass --calibration" in capsys.readouterr().err


def test_a_segmentation_config_calibrates_on_its_training_images_not_its_masks(tmp_path):
    from pathlib import Path

    write_images(tmp_path / "scenes" / "images" / "train", 3)
    masks = tmp_path / "scenes" / "masks" / "train"
    masks.mkdir(parents=True)
    for index in range(3):
        Image.fromarray(np.zeros((20 + index, 30), dtype=np.uint8)).save(masks / f"{index}.png")
    shipped = Path(__file__).parents[2] / "configs/deeplabv3/deeplabv3_mobilevit-tiny_1xb8_digit-scenes.py"
    config = tmp_path / "scenes.py"
    config.write_text(shipped.read_text().replace('root="data/digit_scenes"', f'root="{tmp_path / "scenes"}"'))
    preprocessing = Preprocessing(resize_short=36, crop_size=32)
    images = calibration_images(config, preprocessing)
    assert images.shape == (3, 3, 32, 32)
    first = np.asarray(Image.open(tmp_path / "scenes" / "images" / "train" / "0.png").convert("RGB"))
    assert torch.equal(images[0], EvalTransform(preprocessing)(first))
