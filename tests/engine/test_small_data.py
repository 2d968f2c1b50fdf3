"""The fine-tuning config on a folder of a few dozen images: its warm-up is fitted to the run's
steps (and the log says so), and the run learns."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mobilevit.config import load_config
from mobilevit.engine import trainer

CONFIG = Path(__file__).resolve().parents[2] / "configs/mobilevit/mobilevit-xxsmall_finetune_custom.py"
CLASSES = ("blue", "green", "red")


def write_colour_folders(root: Path, train_per_class: int, val_per_class: int) -> Path:
    """40x40 noisy images whose dominant colour is the class, one folder per class."""
    rng = np.random.default_rng(0)
    for split, count in (("train", train_per_class), ("val", val_per_class)):
        for label, name in enumerate(CLASSES):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for index in range(count):
                pixels = rng.integers(0, 90, (40, 40, 3), dtype=np.uint8)
                pixels[..., 2 - label] += 160
                Image.fromarray(pixels).save(folder / f"{index}.png")
    return root


@pytest.mark.slow
def test_the_fine_tuning_config_fits_its_warm_up_to_a_small_folder_and_learns(tmp_path):
    data = write_colour_folders(tmp_path / "data", train_per_class=20, val_per_class=4)
    options = [
        f"data.root={data}",
        f"train.work_dir={tmp_path / 'work'}",
        # Nothing can be downloaded here: random weights, in a small arch at the learning rate of
        # training from scratch, so that 8 epochs of 60 images learn. The rest is the config's:
        # its batch size, warm-up, EMA, augmentation and the variable batch sampler.
        "model.pretrained=''",
        "model.arch=[['mobilenetv2',8,1,1,2],['mobilevit',16,2,16,32,1,2]]",
        "optim.lr=0.003",
        "data.batch_size=8",
        "schedule.epochs=8",
        "data.sampler.base_size=32",
        "data.sampler.min_size=24",
        "data.sampler.max_size=40",
        "data.sampler.multiple=8",
        "data.preprocessing.resize_short=36",
        "data.preprocessing.crop_size=32",
        "data.num_workers=0",
        "train.amp=none",
        "train.progress_bar=False",
    ]
    config = load_config(CONFIG, options)
    assert config.schedule.warmup_iters == 50 and config.train.ema_decay == 0.95
    trainer.main(config)

    work_dir = tmp_path / "work"
    log = (work_dir / "train.log").read_text()
    records = [json.loads(line) for line in (work_dir / "log.jsonl").read_text().splitlines()]
    first_epoch = next(record["steps"] for record in records if record["kind"] == "epoch")  # counted from it
    assert f"schedule.warmup_iters=50 is more than half of this run's {8 * first_epoch} optimizer steps" in log
    warmup = json.loads((work_dir / "config.json").read_text())["schedule"]["warmup_iters"]
    assert warmup < 50 and f"warming up over {warmup} steps instead" in log
    rates = [record["lr"] for record in records if record["kind"] == "train"]
    assert max(rates) > 0.8 * 0.003  # the warm-up ends inside the run: the rate reaches optim.lr
    final = [record for record in records if record["kind"] == "val"][-1]
    assert final["top1"] > 100 / 3 + 1  # better than chance (3 classes)
