"""`mobilevit predict` names each output after its input: no two inputs share a picture."""

import numpy as np
import pytest
import torch
from PIL import Image

from mobilevit.cli import main as cli
from mobilevit.config import load_config
from mobilevit.tasks import build_model

SEGMENTER = """
task = "segmentation"
model = dict(arch=[["mobilenetv2", 8, 1, 1, 2], ["mobilevit", 16, 2, 16, 32, 1, 2]], num_classes=3, aspp_channels=8)
data = dict(kind="pairs", classes=["background", "cat", "dog"],
            preprocessing=dict(resize_short=32, crop_size=32, keep_aspect_ratio=False))
"""
DETECTOR = """
task = "detection"
model = dict(arch=[["mobilenetv2", 16, 1, 1, 2], ["mobilenetv2", 24, 2, 1, 2], ["mobilevit", 32, 2, 32, 64, 1, 2],
                   ["mobilevit", 48, 2, 48, 96, 1, 2], ["mobilevit", 64, 1, 64, 128, 1, 2]], num_classes=2)
detection = dict(image_size=64)
"""


def _model(folder, config):
    return ["--model", str(folder / config), "--checkpoint", str(folder / config.replace(".py", ".pth"))]


@pytest.fixture
def photos(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("x.png", "x.jpg", "other/x.png"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(tmp_path / name)
    for name, config in (("segmenter", SEGMENTER), ("detector", DETECTOR)):
        (tmp_path / f"{name}.py").write_text(config)
        torch.manual_seed(0)
        torch.save(build_model(load_config(tmp_path / f"{name}.py")).state_dict(), tmp_path / f"{name}.pth")
    return tmp_path


@pytest.mark.parametrize(
    "config, outputs", [("segmenter.py", ("_mask.png", "_overlay.png")), ("detector.py", ("_detections.png",))]
)
def test_x_png_and_x_jpg_and_two_x_png_write_apart(photos, config, outputs):
    out = photos / "out"
    images = [str(photos / "x.png"), str(photos / "x.jpg"), str(photos / "x.png")]  # the same x.png twice
    assert cli(["predict", *images, *_model(photos, config), "--out-dir", str(out)]) == 0
    assert sorted(path.name for path in out.iterdir()) == sorted(
        f"x_{kind}{suffix}" for kind in ("jpg", "png") for suffix in outputs
    )
    with Image.open(out / f"x_jpg{outputs[0]}") as written:
        assert written.size == (40, 30)
    apart = photos / "apart"
    command = ["predict", str(photos / "x.png"), str(photos / "other" / "x.png"), *_model(photos, config)]
    assert cli([*command, "--out-dir", str(apart)]) == 0
    assert sorted(path.name for path in apart.iterdir()) == sorted(
        f"x{number}{suffix}" for number in ("_png", "_png_2") for suffix in outputs
    )
