"""The seed's configs carry the recipe of the published weights; the demo's config runs end to end."""

import shutil
from pathlib import Path

import pytest

from mobilevit.config import ConfigError, load_config
from mobilevit.data.image import ImageReadError
from mobilevit.engine import trainer

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name, drop_rate", [("small", 0.1), ("xsmall", 0.1), ("xxsmall", 0.05)])
def test_seed_configs_follow_the_published_recipe(name, drop_rate):
    config = load_config(ROOT / f"configs/mobilevit/mobilevit-{name}_8xb128_in1k.py")
    assert (config.model.dropout, config.model.drop_rate, config.model.label_smoothing) == (0.1, drop_rate, 0.1)
    assert (config.optim.lr, config.optim.weight_decay, config.optim.betas) == (0.002, 0.01, (0.9, 0.999))
    schedule = config.schedule
    assert (schedule.epochs, schedule.warmup_iters) == (300, 3000)
    assert (schedule.warmup_start_lr, schedule.min_lr) == (2e-4, 2e-4)
    assert (config.train.ema, config.train.ema_decay, config.train.amp) == (True, 0.9995, "bfloat16")
    assert (config.data.root, config.data.batch_size, config.data.crop_scale) == ("data/imagenet", 128, (0.08, 1.0))
    assert [tuple(shape) for shape in config.data.batch_shapes(num_replicas=8)] == [
        (160, 160, 328),
        (192, 192, 224),
        (256, 256, 128),
        (288, 288, 128),
        (320, 320, 128),
    ]
    assert (config.data.preprocessing.resize_short, config.data.preprocessing.crop_size) == (288, 256)


def test_bad_sampler_settings_name_the_key(tmp_path):
    (tmp_path / "c.py").write_text("data = dict(sampler=dict(min_size=300))\n")
    with pytest.raises(ConfigError, match=r"c.py: data.sampler.min_size must be at most base_size \(256\), got 300"):
        load_config(tmp_path / "c.py")
    with pytest.raises(ConfigError, match="batch_floor must be one of 'base', 'one'"):
        load_config(tmp_path / "c.py", ["data.sampler.min_size=160", "data.sampler.batch_floor=zero"])


def test_unreadable_training_images_stop_the_run_or_are_skipped(tiny_config, tiny_imagenet, tmp_path):
    data = shutil.copytree(tiny_imagenet, tmp_path / "data")
    (data / "train" / "n00_blue" / "broken.JPEG").write_bytes(b"\xff\xd8 truncated")
    options = [f"data.root={data}", "schedule.epochs=1"]
    with pytest.raises(ImageReadError, match="broken.JPEG"):
        trainer.main(load_config(tiny_config(), options))
    shutil.rmtree(tmp_path / "work")
    trainer.main(load_config(tiny_config(), [*options, "data.skip_bad_images=True"]))
    log = (tmp_path / "work" / "train.log").read_text()
    assert "skipped an unreadable image" in log and "broken.JPEG" in log and "skipped_images 1" in log


def test_the_demo_trains_and_predicts(tmp_path, capsys, monkeypatch):
    """The demo's plumbing, two steps long (scripts/demo.sh trains 12 epochs and checks the accuracy)."""
    pytest.importorskip("sklearn")
    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    import demo_digits

    demo_digits.write(tmp_path / "digits")
    assert len(list((tmp_path / "digits" / "test").glob("*/*.png"))) == 250
    config = ROOT / "configs/mobilevit/mobilevit-tiny_1xb64_digits.py"
    work = tmp_path / "work"
    trainer.main(
        load_config(
            config,
            [
                f"data.root={tmp_path / 'digits'}",
                f"train.work_dir={work}",
                "train.max_steps=2",
                "train.progress_bar=False",
                "data.num_workers=0",
            ],
        )
    )
    assert demo_digits.predict(work / "config.json", work / "latest.pth", tmp_path / "digits" / "test", 3, 0.0)
    assert "held-out accuracy" in capsys.readouterr().out
