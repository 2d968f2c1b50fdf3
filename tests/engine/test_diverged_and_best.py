"""A run whose weights turn non-finite stops and keeps its last good checkpoints; best.pth is the
same after a stop in the middle of a save as without; `mobilevit test` gives no score for NaN weights."""

import json

import pytest
import torch
from torch import nn

from mobilevit.checkpoint import CheckpointError
from mobilevit.cli import main as cli
from mobilevit.config import load_config
from mobilevit.engine import checkpointing, trainer
from mobilevit.engine.checkpointing import Checkpointer, TrainingRun, TrainState, read_training_checkpoint
from mobilevit.engine.distributed import DistributedContext
from mobilevit.engine.ema import ModelEma
from mobilevit.engine.run_log import RunLog
from mobilevit.tasks import build_model, get_task
from tiny_run import TINY_CONFIG

# One validation, at the end: best.pth is written by the last save. Batches of 3: 8 steps, a save every 2.
ONE_EPOCH = ["schedule.epochs=1", "data.batch_size=3"]


def write_config(folder, tiny_imagenet):
    path = folder / "tiny.py"
    path.write_text(TINY_CONFIG.format(root=str(tiny_imagenet), work_dir=str(folder / "work")))
    return path


@pytest.fixture(scope="module")
def whole(tmp_path_factory, tiny_imagenet):
    """An uninterrupted run of one epoch: its work dir."""
    folder = tmp_path_factory.mktemp("whole")
    trainer.main(load_config(write_config(folder, tiny_imagenet), ONE_EPOCH))
    return folder / "work"


def records(work):
    return [json.loads(line) for line in (work / "log.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("where", ["last step", "mid-epoch checkpoint"])
def test_weights_that_turn_non_finite_stop_the_run_and_keep_the_last_good_checkpoint(
    whole, tmp_path, tiny_imagenet, monkeypatch, where
):
    last = torch.load(whole / "latest.pth", weights_only=True)["step"]
    explode_at = last if where == "last step" else 4  # checkpoint_steps=2: a save follows step 4
    assert last > explode_at or where == "last step"
    real_step = trainer.optimizer_step
    names = []

    def exploding_step(run, learning_rate, clip_grad):
        real_step(run, learning_rate, clip_grad)
        if run.state.step == explode_at:
            name, parameter = next(iter(run.model.named_parameters()))
            names.append(name)
            with torch.no_grad():
                parameter.view(-1)[:2] = torch.tensor([float("nan"), float("inf")])

    monkeypatch.setattr(trainer, "optimizer_step", exploding_step)
    config = load_config(write_config(tmp_path, tiny_imagenet), ONE_EPOCH)
    with pytest.raises(FloatingPointError) as error:
        trainer.main(config)
    work = tmp_path / "work"
    assert str(error.value).startswith(
        f"the model weights turned non-finite at epoch 1, step {explode_at}: {names[0]} holds 1 NaN and 1 infinite"
    )
    assert f"those in {work} are the last good ones" in str(error.value)
    latest = read_training_checkpoint(work / "latest.pth")  # verified, and finite
    assert latest["step"] < explode_at and all(torch.isfinite(value).all() for value in latest["model"].values())
    assert not (work / "best.pth").exists()  # never written with the diverged weights
    assert not [record for record in records(work) if record["kind"].startswith("val")]  # nor scored
    assert not (work / "train.lock").exists()


class Killed(Exception):
    """Stands for a kill in the middle of a save."""


@pytest.mark.slow  # two runs, the second resumed
@pytest.mark.parametrize("killed_at", ["best.pth", "latest.pth"])
def test_a_run_stopped_in_the_middle_of_a_save_ends_with_the_best_of_an_uninterrupted_one(
    whole, tmp_path, tiny_imagenet, monkeypatch, killed_at
):
    real_write = checkpointing.write_atomic
    written = []

    def dying_write(path, write):
        # the save that writes best.pth: stop before killed_at (its files before it are written)
        if path.name == killed_at and "best.pth" in [*written, path.name] and not written.count("stop"):
            written.append("stop")
            raise Killed(path)
        real_write(path, write)
        written.append(path.name)

    monkeypatch.setattr(checkpointing, "write_atomic", dying_write)
    config = load_config(write_config(tmp_path, tiny_imagenet), ONE_EPOCH)
    with pytest.raises(Killed):
        trainer.main(config)
    assert "stop" in written
    monkeypatch.setattr(checkpointing, "write_atomic", real_write)
    trainer.main(config)  # resumes from latest.pth
    work = tmp_path / "work"
    assert "resumed from" in (work / "train.log").read_text()
    expected = read_training_checkpoint(whole / "best.pth")
    best = read_training_checkpoint(work / "best.pth")
    assert (best["epoch"], best["step"], best["best_score"]) == (
        expected["epoch"],
        expected["step"],
        expected["best_score"],
    )
    for key in expected["ema"]:
        torch.testing.assert_close(best["ema"][key], expected["ema"][key], rtol=1e-5, atol=1e-6, msg=key)


def test_mobilevit_test_gives_no_score_for_weights_holding_nan(tiny_config, tmp_path, capsys):
    config_path = tiny_config()
    model = build_model(load_config(config_path))
    state_dict = model.state_dict()
    state_dict["head.fc.weight"][1, 2] = float("nan")
    torch.save(state_dict, tmp_path / "nan.pth")
    assert cli(["test", str(config_path), str(tmp_path / "nan.pth")]) == 2
    out, err = capsys.readouterr()
    assert f"{tmp_path / 'nan.pth'}: the tensor head.fc.weight holds 1 NaN and 0 infinite of" in err
    assert "top1" not in out and "top1" not in err


@pytest.mark.parametrize("part", ["model", "ema", "optimizer"])
def test_a_run_does_not_resume_from_a_checkpoint_holding_nan(tmp_path, part):
    weights = {"weight": torch.ones(2, 3), "bias": torch.zeros(2)}
    bad = {"weight": torch.ones(2, 3), "bias": torch.tensor([0.0, float("inf")])}
    checkpoint = {
        "model": bad if part == "model" else weights,
        "ema": bad if part == "ema" else weights,
        "optimizer": {
            "state": {0: {"exp_avg": bad["bias"] if part == "optimizer" else weights["bias"]}},
            "param_groups": [],
        },
        "scaler": {},
        "epoch": 1,
        "batch_in_epoch": 0,
        "step": 4,
        "best_score": 50.0,
        "world_size": 1,
        "rng": [{"cpu": torch.get_rng_state()}],
        "config": {},
    }
    torch.save(checkpoint, tmp_path / "latest.pth")
    which = {"model": "its weights", "ema": "its EMA weights", "optimizer": "its optimizer state"}[part]
    name = "0.exp_avg" if part == "optimizer" else "bias"
    with pytest.raises(
        CheckpointError, match=f"latest.pth \\({which}\\): the tensor {name} holds 0 NaN and 1 infinite"
    ):
        read_training_checkpoint(tmp_path / "latest.pth")


def test_a_save_of_weights_holding_nan_writes_nothing(tmp_path):
    context = DistributedContext(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    run = TrainingRun(model, ModelEma(model, 0.9), torch.optim.AdamW(model.parameters()), torch.amp.GradScaler("cpu"))
    checkpointer = Checkpointer(tmp_path, {}, context)
    checkpointer.save(["latest.pth"], run)
    before = (tmp_path / "latest.pth").read_bytes()
    run.ema.module[1].running_var[1] = float("inf")  # the EMA alone diverged
    run.state = TrainState(epoch=2, batch_in_epoch=3, step=9)
    with pytest.raises(
        FloatingPointError,
        match="the EMA weights turned non-finite at epoch 3, step 9: 1.running_var holds 0 NaN and 1 inf",
    ):
        checkpointer.save(["latest.pth", "best.pth"], run)
    assert (tmp_path / "latest.pth").read_bytes() == before and not (tmp_path / "best.pth").exists()


def test_a_validation_score_that_is_not_finite_is_never_a_best(tiny_config, tmp_path, monkeypatch):
    config = load_config(tiny_config())
    task = get_task(config.task)
    scores = iter([float("nan"), 40.0, float("nan"), float("inf")])

    class Metrics:
        def log_values(self):
            return {}

        def __getattr__(self, name):
            return next(scores)

    monkeypatch.setattr(trainer, "evaluate", lambda *args: Metrics())
    model = nn.Linear(2, 2)
    run = TrainingRun(model, None, torch.optim.AdamW(model.parameters()), torch.amp.GradScaler("cpu"))
    log = RunLog(tmp_path, False)
    found = [trainer._validate(task, config, run, None, torch.device("cpu"), log) for _ in range(4)]
    assert found == [False, True, False, False] and run.state.best_score == 40.0
