import json
import math
import shutil
import time
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from mobilevit.cli import main as cli
from mobilevit.config import ConfigError, OptimConfig, load_config
from mobilevit.engine import trainer
from mobilevit.engine.ema import ModelEma
from mobilevit.engine.run_log import RunLog
from mobilevit.engine.schedule import LearningRateSchedule
from tiny_run import CLASSES


def _checkpoint(path):
    return torch.load(path, map_location="cpu", weights_only=True)


def _assert_same_tensors(first, second):
    assert first.keys() == second.keys()
    for key in first:
        torch.testing.assert_close(first[key], second[key], rtol=1e-5, atol=1e-6, msg=key)


def test_train_writes_checkpoints_logs_and_the_resolved_config(tiny_config, tmp_path):
    assert cli(["train", str(tiny_config())]) == 0
    work = tmp_path / "work"
    names = sorted(path.name for path in work.iterdir())
    assert names == ["best.pth", "config.json", "epoch_2.pth", "latest.pth", "log.jsonl", "train.log"]
    checkpoint = _checkpoint(work / "latest.pth")
    assert (checkpoint["epoch"], checkpoint["batch_in_epoch"]) == (2, 0) and checkpoint["step"] > 4
    assert checkpoint["ema"].keys() == checkpoint["model"].keys()
    assert "backbone.stem.bn.running_mean" in checkpoint["ema"]
    config = json.loads((work / "config.json").read_text())
    assert config == checkpoint["config"]
    assert config["model"]["class_names"] == [f"n0{label}_{name}" for label, name in enumerate(CLASSES)]
    assert load_config(work / "config.json").model.class_names[0] == "n00_blue"  # readable as a config again
    records = [json.loads(line) for line in (work / "log.jsonl").read_text().splitlines()]
    assert {record["kind"] for record in records} == {"train", "epoch", "val", "val_ema"}
    assert all(record["images"] == 9 for record in records if record["kind"] == "val")
    assert "top1" in (work / "train.log").read_text()


def test_a_stopped_run_resumes_to_the_weights_of_an_uninterrupted_one(tiny_config, tmp_path):
    # The uninterrupted run reads with worker processes, the stopped one without: augmentation
    # depends on the sampler's seeds alone.
    whole = trainer.main(load_config(tiny_config("whole.py", tmp_path / "whole"), ["data.num_workers=2"]))
    stopped_config = tiny_config("stopped.py", tmp_path / "stopped")
    trainer.main(load_config(stopped_config, ["train.max_steps=3"]))
    stopped = _checkpoint(tmp_path / "stopped" / "latest.pth")
    assert stopped["step"] == 3 and stopped["epoch"] == 0 and stopped["batch_in_epoch"] == 3  # mid-epoch
    resumed = trainer.main(load_config(stopped_config))  # picks up latest.pth by itself
    _assert_same_tensors(whole.state_dict(), resumed.state_dict())
    first, second = _checkpoint(tmp_path / "whole" / "latest.pth"), _checkpoint(tmp_path / "stopped" / "latest.pth")
    assert first["step"] == second["step"]
    _assert_same_tensors(first["ema"], second["ema"])
    assert "resumed from" in (tmp_path / "stopped" / "train.log").read_text()


def test_wrong_class_count_and_bad_settings_are_named(tiny_config):
    with pytest.raises(ValueError, match="3 classes but model.num_classes is 5"):
        trainer.main(load_config(tiny_config(), ["model.num_classes=5"]))
    with pytest.raises(ConfigError, match="train.amp must be one of"):
        load_config(tiny_config(), ["train.amp=fp16"])
    with pytest.raises(ValueError, match="needs a CUDA device"):
        trainer.main(load_config(tiny_config(), ["train.amp=float16", "train.device=cpu"]))


def test_bfloat16_autocast_and_gradient_accumulation(tiny_config, tmp_path):
    options = ["train.amp=bfloat16", "schedule.epochs=1", "train.ema=False", "train.accumulate=2"]
    model = trainer.main(load_config(tiny_config(), options))
    assert all(torch.isfinite(value).all() for value in model.state_dict().values())
    checkpoint = _checkpoint(tmp_path / "work" / "latest.pth")
    assert checkpoint["ema"] is None
    records = [json.loads(line) for line in (tmp_path / "work" / "log.jsonl").read_text().splitlines()]
    batches = int([record for record in records if record["kind"] == "train"][-1]["batch"].split("/")[1])
    assert checkpoint["step"] == math.ceil(batches / 2)  # an optimizer step every two batches
    steps = [record for record in records if record["kind"] == "train"]
    assert all(0 <= record["data_time"] < record["step_time"] for record in steps)


def test_train_records_time_the_steps_and_the_wait_for_batches(tmp_path):
    def slow_batches():
        for _ in range(3):
            time.sleep(0.05)  # the loader
            yield "batch"

    meter = trainer.EpochMeter(RunLog(tmp_path, enabled=True), world_size=1)
    for _ in meter.timed(slow_batches()):
        time.sleep(0.02)  # the step
        meter.add_step(1.0)
    meter.record_steps(SimpleNamespace(epoch=0, step=3), "3/3", 0.1, torch.Size([2, 3, 8, 8]))
    record = json.loads((tmp_path / "log.jsonl").read_text())
    assert record["data_time"] >= 0.05 and record["step_time"] >= record["data_time"] + 0.02
    meter.add_step(1.0)  # the next record times only the steps after this one
    meter.record_steps(SimpleNamespace(epoch=0, step=4), "3/3", 0.1, torch.Size([2, 3, 8, 8]))
    later = json.loads((tmp_path / "log.jsonl").read_text().splitlines()[1])
    assert later["data_time"] == 0 and later["step_time"] < 0.02


def test_schedule_warms_up_then_follows_a_cosine():
    schedule = LearningRateSchedule(lr=2e-3, min_lr=2e-4, epochs=300, warmup_iters=3000, warmup_start_lr=2e-4)
    assert schedule(0, 0.0) == pytest.approx(2e-4)
    assert schedule(1500, 0.5) == pytest.approx(1.1e-3)
    assert schedule(3000, 2.0) == pytest.approx(2e-4 + 0.9e-3 * (1 + math.cos(math.pi * 2 / 300)))
    assert schedule(10**6, 150.0) == pytest.approx(1.1e-3)
    assert schedule(10**6, 300.0) == pytest.approx(2e-4)


def test_ema_averages_the_whole_state_dict():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    ema = ModelEma(model, decay=0.75)
    before = {key: value.clone() for key, value in ema.module.state_dict().items()}
    with torch.no_grad():
        model[0].weight.add_(1.0)
    model(torch.randn(2, 3, 5, 5))  # moves the BatchNorm statistics
    ema.update(model)
    after, current = ema.module.state_dict(), model.state_dict()
    for key in ("0.weight", "1.running_mean", "1.running_var"):
        torch.testing.assert_close(after[key], 0.75 * before[key] + 0.25 * current[key])
    assert after["1.num_batches_tracked"] == current["1.num_batches_tracked"] == 1
    assert not any(parameter.requires_grad for parameter in ema.module.parameters())


@pytest.mark.slow
def test_a_run_resumed_from_an_older_checkpoint_logs_each_step_once(tiny_config, tmp_path):
    config = tiny_config()
    work = tmp_path / "work"
    trainer.main(load_config(config, ["train.max_steps=2"]))
    shutil.copy(work / "latest.pth", tmp_path / "step2.pth")
    (work / "log.jsonl").open("a").write('{"kind": "train", "st')  # a line cut short by a kill
    trainer.main(load_config(config, ["train.max_steps=5"]))
    shutil.copy(tmp_path / "step2.pth", work / "latest.pth")  # killed at step 5 before its checkpoint
    trainer.main(load_config(config))
    records = [json.loads(line) for line in (work / "log.jsonl").read_text().splitlines()]
    steps = [record["step"] for record in records if record["kind"] == "train"]
    assert steps == list(range(1, steps[-1] + 1)) and steps[-1] > 5
    assert [record["epoch"] for record in records if record["kind"] == "epoch"] == [1, 2]
    assert [record["epoch"] for record in records if record["kind"] == "val"] == [1, 2]
    assert "records after step 2 from log.jsonl" in (work / "train.log").read_text()


def test_rewinding_the_log_keeps_what_came_before_the_checkpoint(tmp_path):
    log = RunLog(tmp_path, enabled=True)
    for step in (1, 2, 3):
        log.record("train", epoch=1, step=step)
    log.record("epoch", epoch=1, steps=3)
    log.record("val", epoch=1, top1=50.0)
    log.record("train", epoch=2, step=4)
    assert log.rewind(step=3, epoch=1) == 1
    assert log.rewind(step=2, epoch=0) == 3
    kinds = [(record["kind"], record.get("step")) for record in map(json.loads, log.json_path.read_text().splitlines())]
    assert kinds == [("train", 1), ("train", 2)]


@pytest.mark.slow
def test_auto_resume_from_a_damaged_latest_takes_the_newest_epoch_checkpoint(tiny_config, tmp_path):
    config = tiny_config()
    trainer.main(load_config(config, ["schedule.epochs=1", "train.checkpoint_steps=0"]))
    work = tmp_path / "work"
    epoch_1 = _checkpoint(work / "epoch_1.pth")
    data = bytearray((work / "latest.pth").read_bytes())
    data[len(data) // 2] ^= 0x01
    (work / "latest.pth").write_bytes(bytes(data))
    trainer.main(load_config(config, ["schedule.epochs=1", "train.checkpoint_steps=0"]))  # nothing left to train
    log = (work / "train.log").read_text()
    assert "cannot resume from latest.pth: " in log and "fails its CRC-32 check" in log
    assert f"resuming from {work / 'epoch_1.pth'}, the newest intact epoch checkpoint, instead" in log
    assert f"resumed from {work / 'epoch_1.pth'}: epoch 2, batch 0, step {epoch_1['step']}" in log


@pytest.mark.slow
def test_a_compiled_run_trains_to_the_weights_of_an_eager_one(tiny_config, tmp_path):
    options = ["train.amp=none", "train.max_steps=2", "train.ema=False", "data.sampler.variable=False"]
    options += ["model.dropout=0.0", "model.drop_rate=0.0"]  # inductor draws its own dropout masks
    eager = trainer.main(load_config(tiny_config("eager.py", tmp_path / "eager"), options))
    compiled = trainer.main(
        load_config(tiny_config("compiled.py", tmp_path / "compiled"), [*options, "train.compile=True"])
    )
    assert compiled.state_dict().keys() == eager.state_dict().keys()  # the model itself, not a wrapper

    def losses(run: str) -> list[float]:
        records = [json.loads(line) for line in (tmp_path / run / "log.jsonl").read_text().splitlines()]
        return [record["loss"] for record in records if record["kind"] == "train"]

    # the losses, not the weights: Adam's step turns a rounding difference in a gradient near
    # zero into a full step of the other sign
    assert losses("compiled") == pytest.approx(losses("eager"), rel=1e-4) and len(losses("eager")) == 2
    assert "the first step of each of the 1 batch shapes compiles" in (tmp_path / "compiled" / "train.log").read_text()


def test_the_optimizer_is_fused_where_pytorch_has_the_kernel():
    model = nn.Linear(4, 2)
    optimizer = trainer.build_optimizer([{"params": list(model.parameters())}], OptimConfig())
    assert optimizer.defaults["fused"] is True
