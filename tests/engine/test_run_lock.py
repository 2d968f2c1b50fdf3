"""One trainer per work dir: a second run is refused naming the holder; a stale lock is taken over."""

import json
import os
import socket
import subprocess
import sys

import pytest

from mobilevit.cli import main as cli
from mobilevit.config import load_config
from mobilevit.engine import run_lock, trainer
from mobilevit.engine.run_lock import LOCK_NAME, WorkDirLock, WorkDirLockedError

# Holds the lock of the work dir argv[1] until its stdin closes.
HOLD = """
import sys
from mobilevit.engine.run_lock import WorkDirLock
lock = WorkDirLock(sys.argv[1])
lock.acquire()
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def holder(tmp_path):
    """Another process holding the lock of tmp_path/work."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "work")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert process.stdout.readline() == "locked\n"
    yield process
    process.kill()
    process.wait(timeout=30)


def dead_pid():
    """The PID of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=30)
    return process.pid


def test_a_second_trainer_on_a_work_dir_is_refused_naming_the_holder(tiny_config, tmp_path, holder, capsys):
    config = tiny_config()
    who = f"PID {holder.pid} on host {socket.gethostname()}, started "
    with pytest.raises(WorkDirLockedError, match=f"work is in use by another training run \\({who}"):
        trainer.main(load_config(config, ["train.max_steps=1"]))
    assert cli(["train", str(config), "--cfg-options", "train.max_steps=1"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"mobilevit train: error: {tmp_path / 'work'} is in use by another training run ({who}")
    assert "wait for it to end or stop it, or train into another work dir (--work-dir)" in error
    assert sorted(path.name for path in (tmp_path / "work").iterdir()) == [LOCK_NAME]  # nothing else written

    holder.kill()  # SIGKILL: its lock file stays behind, held by no one
    holder.wait(timeout=30)
    trainer.main(load_config(config, ["train.max_steps=1"]))
    log = (tmp_path / "work" / "train.log").read_text()
    assert f"took over {tmp_path / 'work' / LOCK_NAME}, left by a run that no longer holds it (PID {holder.pid}" in log
    assert not (tmp_path / "work" / LOCK_NAME).exists()  # released at the end of the run


def test_the_lock_is_released_on_failure_and_refused_within_one_process(tmp_path):
    lock = WorkDirLock(tmp_path)
    assert lock.acquire() is None
    content = json.loads((tmp_path / LOCK_NAME).read_text())
    assert content["pid"] == os.getpid() and content["host"] == socket.gethostname()
    with pytest.raises(WorkDirLockedError, match=f"PID {os.getpid()}"):
        WorkDirLock(tmp_path).acquire()
    lock.release()
    assert not (tmp_path / LOCK_NAME).exists()
    again = WorkDirLock(tmp_path)
    assert again.acquire() is None
    again.release()


def test_a_stale_lock_file_naming_a_dead_process_is_taken_over(tmp_path):
    pid = dead_pid()
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": pid, "host": socket.gethostname(), "started": "earlier"}))
    lock = WorkDirLock(tmp_path)
    stale = lock.acquire()
    assert stale.pid == pid and stale.describe() == f"PID {pid} on host {socket.gethostname()}, started earlier"
    assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    lock.release()


def test_without_flock_the_pid_decides(tmp_path, monkeypatch):
    monkeypatch.setattr(run_lock, "fcntl", None)
    path = tmp_path / LOCK_NAME
    host = socket.gethostname()
    path.write_text(json.dumps({"pid": os.getppid(), "host": host, "started": "earlier"}))  # a live process
    with pytest.raises(WorkDirLockedError, match=f"PID {os.getppid()} on host {host}.*wait for it to end"):
        WorkDirLock(tmp_path).acquire()
    path.write_text(json.dumps({"pid": 1234, "host": "elsewhere", "started": "earlier"}))  # cannot tell
    with pytest.raises(WorkDirLockedError, match=f"if that run is no longer running, remove {path}"):
        WorkDirLock(tmp_path).acquire()
    path.write_text(json.dumps({"pid": dead_pid(), "host": host, "started": "earlier"}))
    lock = WorkDirLock(tmp_path)
    assert lock.acquire().host == host
    lock.release()
    assert not path.exists()
