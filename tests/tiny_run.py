"""A tiny ImageNet-layout data set (three colour classes, 24-48 pixel images) and a tiny config,
as fixtures for the tests of training and testing (imported by their conftest.py)."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CLASSES = ("blue", "green", "red")


def write_tiny_imagenet(root: Path, train_per_class: int = 8, val_per_class: int = 3) -> Path:
    """Noisy images whose dominant colour is the class, as JPEGs and PNGs of varied sizes."""
    rng = np.random.default_rng(0)
    for split, count in (("train", train_per_class), ("val", val_per_class)):
        for label, name in enumerate(CLASSES):
            folder = root / split / f"n0{label}_{name}"
            folder.mkdir(parents=True, exist_ok=True)
            for index in range(count):
                height, width = 24 + 3 * index, 48 - 2 * index
                pixels = rng.integers(0, 90, (height, width, 3), dtype=np.uint8)
                pixels[..., 2 - label] += 160  # blue, green or red dominates
                suffix = "JPEG" if index % 2 else "png"
                Image.fromarray(pixels).save(folder / f"{name}_{index}.{suffix}")
    return root


TINY_CONFIG = """
model = dict(
    arch=[["mobilenetv2", 8, 1, 1, 2], ["mobilevit", 16, 2, 16, 32, 1, 2]],
    num_classes=3, dropout=0.1, drop_rate=0.1, label_smoothing=0.1,
)
data = dict(
    root={root!r}, batch_size=6, val_batch_size=4, num_workers=0,
    sampler=dict(base_size=32, min_size=24, max_size=40, num_scales=3, multiple=8),
    preprocessing=dict(resize_short=36, crop_size=32),
)
optim = dict(lr=0.003, clip_grad=5.0)
schedule = dict(epochs=2, warmup_iters=2, warmup_start_lr=0.0003, min_lr=0.0001)
train = dict(work_dir={work_dir!r}, amp="none", ema_decay=0.9, log_interval=1, progress_bar=False,
             checkpoint_steps=2, keep_checkpoints=1)
"""


@pytest.fixture(scope="session")
def tiny_imagenet(tmp_path_factory) -> Path:
    return write_tiny_imagenet(tmp_path_factory.mktemp("imagenet"))


@pytest.fixture
def tiny_config(tmp_path, tiny_imagenet):
    """Write the tiny config (training into tmp_path/work) and return its path."""

    def write(name: str = "tiny.py", work_dir: Path | None = None) -> Path:
        path = tmp_path / name
        path.write_text(TINY_CONFIG.format(root=str(tiny_imagenet), work_dir=str(work_dir or tmp_path / "work")))
        return path

    return write
