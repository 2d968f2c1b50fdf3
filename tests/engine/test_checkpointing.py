"""Training checkpoints: verified reading, clear errors, the fallback of auto-resume, full disks."""

import errno
import subprocess
import sys
import time

import pytest
import safetensors.torch
import torch
from torch import nn

from mobilevit import integrity
from mobilevit.checkpoint import CheckpointError, read_checkpoint
from mobilevit.engine.checkpointing import (
    Checkpointer,
    TrainingRun,
    TrainState,
    find_resume_checkpoint,
    read_training_checkpoint,
    restore,
)
from mobilevit.engine.distributed import DistributedContext
from mobilevit.engine.ema import ModelEma

CONTEXT = DistributedContext(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))


class Run:
    """A tiny model with its EMA, optimizer and scaler, as a training run has them."""

    def __init__(self, width=3):
        torch.manual_seed(0)
        self.model = nn.Sequential(nn.Linear(width, 2), nn.BatchNorm1d(2))
        self.ema = ModelEma(self.model, 0.9)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=0.1)
        self.scaler = torch.amp.GradScaler("cpu", enabled=False)

    def step(self):
        self.model(torch.randn(4, self.model[0].in_features)).sum().backward()
        self.optimizer.step()
        self.ema.update(self.model)

    def save(self, work_dir, names, step):
        checkpointer = Checkpointer(work_dir, {"train": {"seed": 0}}, CONTEXT)
        checkpointer.save(names, self.run(TrainState(step, 0, step, 50.0)))

    def run(self, state=None):
        return TrainingRun(self.model, self.ema, self.optimizer, self.scaler, state or TrainState())

    def restore(self, found):
        path, checkpoint = found
        run = self.run()
        restore(checkpoint, run, CONTEXT, path)
        return run.state


def flip_middle_bit(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x04
    path.write_bytes(bytes(data))


@pytest.fixture
def work_dir(tmp_path):
    run = Run()
    for epoch in (1, 2, 3):
        run.step()
        run.save(tmp_path, ["latest.pth", f"epoch_{epoch}.pth"], epoch)
    return tmp_path


def test_a_checkpoint_round_trips_and_carries_its_sha256(work_dir):
    found = find_resume_checkpoint(work_dir, None, True, print)
    assert found[0] == work_dir / "latest.pth" and len(found[1]["sha256"]) == 64
    assert Run().restore(found) == TrainState(3, 0, 3, 50.0)


def test_a_damaged_latest_falls_back_to_the_newest_intact_epoch_checkpoint(work_dir):
    flip_middle_bit(work_dir / "latest.pth")
    flip_middle_bit(work_dir / "epoch_3.pth")
    messages = []
    path, checkpoint = find_resume_checkpoint(work_dir, None, True, messages.append)
    assert path == work_dir / "epoch_2.pth" and checkpoint["step"] == 2
    assert messages[0].startswith("cannot resume from epoch_3.pth either: ")
    assert "cannot resume from latest.pth: " in messages[1] and "fails its CRC-32 check" in messages[1]
    assert messages[1].endswith(f"resuming from {path}, the newest intact epoch checkpoint, instead")


def test_a_damaged_latest_without_intact_epoch_checkpoints_stops_the_run(work_dir):
    for name in ("latest.pth", "epoch_1.pth", "epoch_2.pth", "epoch_3.pth"):
        flip_middle_bit(work_dir / name)
    with pytest.raises(CheckpointError, match="cannot resume: .*latest.pth is corrupt.*no intact epoch_<n>.pth"):
        find_resume_checkpoint(work_dir, None, True, print)


def test_an_explicit_resume_is_never_replaced(work_dir):
    flip_middle_bit(work_dir / "epoch_3.pth")
    with pytest.raises(CheckpointError, match="epoch_3.pth is corrupt"):
        find_resume_checkpoint(work_dir, work_dir / "epoch_3.pth", True, print)
    assert find_resume_checkpoint(work_dir, None, False, print) is None


def test_content_changed_after_writing_fails_the_sha256(work_dir):
    checkpoint = torch.load(work_dir / "latest.pth", weights_only=True)
    checkpoint["model"]["0.bias"][0] += 1e-6  # rewritten whole: the zip CRCs are right again
    torch.save(checkpoint, work_dir / "latest.pth")
    for read in (read_training_checkpoint, read_checkpoint):
        with pytest.raises(CheckpointError, match="latest.pth is corrupt: its content does not match the sha256"):
            read(work_dir / "latest.pth")


def test_unreadable_and_incomplete_checkpoints_are_named(work_dir):
    latest = work_dir / "latest.pth"
    data = latest.read_bytes()
    (work_dir / "cut.pth").write_bytes(data[: len(data) // 2])
    (work_dir / "notes.txt").write_text("epoch 3 went well\n")
    checkpoint = torch.load(latest, weights_only=True)
    del checkpoint["rng"], checkpoint["sha256"]
    torch.save(checkpoint, work_dir / "no_rng.pth")
    safetensors.torch.save_file(checkpoint["model"], str(work_dir / "weights.safetensors"))
    cases = {
        "cut.pth": "cut.pth: it is a zip-format PyTorch file cut short or damaged",
        "notes.txt": "notes.txt: it is neither a zip-format PyTorch file nor a pickle",
        "weights.safetensors": "weights.safetensors is a safetensors file, which holds weights only",
        "no_rng.pth": "no_rng.pth is not a complete mobilevit training checkpoint: it has no 'rng' entry",
    }
    for name, message in cases.items():
        with pytest.raises(CheckpointError, match=message) as raised:
            read_training_checkpoint(work_dir / name)
        assert "\n" not in str(raised.value)


def test_a_checkpoint_that_does_not_fit_the_run_names_the_part(work_dir):
    found = find_resume_checkpoint(work_dir, None, True, print)
    cannot_load = "latest.pth: cannot load its {} into this run: "
    with pytest.raises(CheckpointError, match=cannot_load.format("model weights") + ".*size mismatch"):
        Run(width=5).restore(found)
    checkpoint = found[1]
    checkpoint["optimizer"]["state"][0]["exp_avg"] = torch.zeros(7)
    with pytest.raises(
        CheckpointError,
        match=cannot_load.format("optimizer state") + "exp_avg has the shape \\(7,\\) for a parameter of \\(2, 3\\)",
    ):
        Run().restore(found)
    checkpoint["optimizer"]["param_groups"] = []
    with pytest.raises(CheckpointError, match=cannot_load.format("optimizer state") + ".*parameter groups"):
        Run().restore(found)


def test_a_full_disk_keeps_the_previous_checkpoint_and_removes_the_temporary_file(work_dir, monkeypatch):
    before = (work_dir / "latest.pth").read_bytes()
    names = sorted(path.name for path in work_dir.iterdir())
    real_open = integrity.Path.open

    def open_full(path, *args, **kwargs):
        file = real_open(path, *args, **kwargs)
        if path.name.endswith(".tmp"):

            def write(data):
                raise OSError(errno.ENOSPC, "No space left on device")

            file.write = write
        return file

    monkeypatch.setattr(integrity.Path, "open", open_full)
    run = Run()
    run.step()
    # latest.pth is written last, so the first write to fail is epoch_4.pth's
    with pytest.raises(OSError, match=f"no space left on /.* while writing {work_dir / 'epoch_4.pth'}") as raised:
        run.save(work_dir, ["latest.pth", "epoch_4.pth"], 4)
    assert raised.value.errno == errno.ENOSPC
    assert (work_dir / "latest.pth").read_bytes() == before
    assert sorted(path.name for path in work_dir.iterdir()) == names


def test_write_atomic_removes_its_temporary_file_on_any_failure(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")

    def fail(file):
        file.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        integrity.write_atomic(target, fail)
    assert target.read_text() == "old" and sorted(tmp_path.iterdir()) == [target]


KEEP_SAVING = """
import sys
from pathlib import Path
import torch
from torch import nn
from mobilevit.engine.checkpointing import Checkpointer, TrainingRun, TrainState
from mobilevit.engine.distributed import DistributedContext
model = nn.Linear(1024, 1024)
optimizer = torch.optim.AdamW(model.parameters())
scaler = torch.amp.GradScaler("cpu", enabled=False)
checkpointer = Checkpointer(Path(sys.argv[1]), {}, DistributedContext(0, 1, 0, torch.device("cpu")))
for step in range(1, 10**6):
    with torch.no_grad():
        model.bias.fill_(step)
    checkpointer.save(["latest.pth"], TrainingRun(model, None, optimizer, scaler, TrainState(0, step, step, 0.0)))
    print(step, flush=True)
"""


def test_a_process_killed_while_saving_leaves_a_verified_latest(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", KEEP_SAVING, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        while int(process.stdout.readline() or 0) < 3:  # a few checkpoints written
            assert process.poll() is None
        time.sleep(0.03)  # into the next save
    finally:
        process.kill()  # SIGKILL: no clean-up runs
        process.wait(timeout=30)
    checkpoint = read_training_checkpoint(tmp_path / "latest.pth")
    assert torch.all(checkpoint["model"]["bias"] == checkpoint["step"])
