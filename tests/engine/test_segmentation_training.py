"""A tiny DeepLabv3-MobileViT on digit scenes made in the test (digit 0 on noisy 32x32 canvases):
trains, resumes exactly, tests, and scores far above a constant prediction."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mobilevit.cli import main as cli
from mobilevit.config import ConfigError, load_config
from mobilevit.engine import trainer

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
task = "segmentation"
model = dict(
    arch=[["mobilenetv2", 8, 1, 1, 2], ["mobilenetv2", 16, 2, 1, 2], ["mobilevit", 24, 2, 24, 48, 1, 2]],
    num_classes=2, aspp_channels=16, atrous_rates=(1, 2, 3), dropout=0.0,
)
data = dict(
    kind="pairs", root={root!r}, classes=["background", "0"], batch_size=8, val_batch_size=5,
    num_workers=0, short_side_range=(28, 40), horizontal_flip=False,
    sampler=dict(variable=False, base_size=32), preprocessing=dict(resize_short=32, crop_size=32, keep_aspect_ratio=False),
)
optim = dict(lr=0.015)
schedule = dict(epochs={epochs}, warmup_iters=4, warmup_start_lr=0.001, min_lr=0.01)
train = dict(work_dir={work_dir!r}, amp="none", ema_decay=0.7, log_interval=1, progress_bar=False,
             checkpoint_steps=0, keep_checkpoints=1)
"""


@pytest.fixture(scope="module")
def digit_scenes(tmp_path_factory):
    pytest.importorskip("sklearn")
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import demo_segmentation
    finally:
        sys.path.remove(str(ROOT / "tools"))
    root = tmp_path_factory.mktemp("digit_scenes")
    demo_segmentation.write(
        root, train=32, val=10, size=32, digits=(0,), digits_per_image=(1, 2), digit_side=(0.4, 0.7)
    )
    return root


@pytest.fixture
def config_file(tmp_path, digit_scenes):
    def write(name="seg.py", work_dir=None, epochs=2):
        path = tmp_path / name
        path.write_text(
            CONFIG.format(root=str(digit_scenes), work_dir=str(work_dir or tmp_path / "work"), epochs=epochs)
        )
        return path

    return write


def _constant_miou(root: Path) -> float:
    """The mIoU of predicting the background everywhere: the background's share of the labelled pixels,
    over the classes present."""
    masks = [np.asarray(Image.open(path)) for path in sorted((root / "masks" / "val").glob("*.png"))]
    labelled = np.concatenate([mask[mask != 255] for mask in masks])
    return 100 * float((labelled == 0).mean()) / len(np.unique(labelled))


@pytest.mark.slow
def test_segmentation_trains_tests_and_beats_a_constant_prediction(config_file, digit_scenes, tmp_path):
    config = config_file(epochs=12)
    assert cli(["train", str(config)]) == 0
    out = tmp_path / "results.json"
    assert cli(["test", str(config), str(tmp_path / "work" / "best.pth"), "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    assert results["images"] == 10 and [entry["class"] for entry in results["per_class"]] == ["background", "0"]
    constant = _constant_miou(digit_scenes)
    assert results["miou"] > constant + 15, (results["miou"], constant)  # about 42 and 65 here
    records = [json.loads(line) for line in (tmp_path / "work" / "log.jsonl").read_text().splitlines()]
    best = max(record["miou"] for record in records if record["kind"] == "val_ema")
    assert results["miou"] == pytest.approx(best, abs=1e-3)  # best.pth holds the best EMA mIoU


@pytest.mark.slow
def test_a_stopped_segmentation_run_resumes_to_the_weights_of_an_uninterrupted_one(config_file, tmp_path):
    whole = trainer.main(load_config(config_file("whole.py", tmp_path / "whole")))
    stopped = config_file("stopped.py", tmp_path / "stopped")
    trainer.main(load_config(stopped, ["train.max_steps=3"]))
    checkpoint = torch.load(tmp_path / "stopped" / "latest.pth", map_location="cpu", weights_only=True)
    assert (checkpoint["epoch"], checkpoint["batch_in_epoch"], checkpoint["step"]) == (0, 3, 3)
    resumed = trainer.main(load_config(stopped))
    for key, value in whole.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=1e-5, atol=1e-6, msg=key)


def test_a_segmentation_config_names_what_does_not_fit(config_file):
    with pytest.raises(
        ConfigError,
        match="data.kind must be a segmentation layout, one of 'voc', 'voc_aug', 'pairs', 'ade20k'; got 'auto'",
    ):
        load_config(config_file(), ["data.kind=auto"])
    with pytest.raises(ConfigError, match="set data.preprocessing.keep_aspect_ratio=False"):
        trainer.main(load_config(config_file(), ["data.preprocessing.keep_aspect_ratio=True"]))
    with pytest.raises(ValueError, match="has 2 classes but model.num_classes is 4"):
        trainer.main(load_config(config_file(), ["model.num_classes=4"]))
