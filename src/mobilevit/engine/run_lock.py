"""One training run per work dir: ``<work_dir>/train.lock`` names the run that holds it.

The running trainer holds an flock on the lock file (the operating system releases it when the
process ends, however it ends), and the file says who holds it: PID, host and start time. A second
run on the same work dir is refused with that holder's name. A lock file that no process holds was
left by a run that was killed: the next run takes it over and says whose it was. Where flock is not
available (Windows, a file system without locks) the PID decides: a holder on this host whose
process is gone is stale; one on another host is refused with the path to remove.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import MobileViTError
from .distributed import DistributedContext, all_gather_objects
from .run_log import RunLog

try:
    import fcntl
except ImportError:  # Windows: the PID decides
    fcntl = None

LOCK_NAME = "train.lock"


class WorkDirLockedError(MobileViTError, OSError):
    """A work dir that another training run holds."""


@dataclass(frozen=True)
class Holder:
    """Who holds a work dir."""

    pid: int
    host: str
    started: str

    def describe(self) -> str:
        return f"PID {self.pid} on host {self.host}, started {self.started}"


def this_process() -> Holder:
    return Holder(os.getpid(), socket.gethostname(), time.strftime("%Y-%m-%d %H:%M:%S %Z"))


class WorkDirLock:
    """The lock of one work dir: :meth:`acquire`, then :meth:`release` when the run ends."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = Path(work_dir)
        self.path = self.work_dir / LOCK_NAME
        self.handle: int | None = None

    def acquire(self) -> Holder | None:
        """Take the lock; returns the holder of a stale lock taken over (None where there was none).

        Raises :class:`WorkDirLockedError` naming the holder where another run holds it.
        """
        self.work_dir.mkdir(parents=True, exist_ok=True)
        for _ in range(10):  # another process may remove the file between our open and our lock
            handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                stale = self._lock(handle)
            except BaseException:
                os.close(handle)
                raise
            if stale is not False:
                self.handle = handle
                _write_holder(handle, this_process())
                return stale
            os.close(handle)
        raise WorkDirLockedError(f"cannot take the lock {self.path}: it keeps being replaced by other runs")

    def _lock(self, handle: int) -> Holder | None | bool:
        """Lock the opened file: the stale holder it names (or None), or False where the file was
        replaced meanwhile and must be opened again."""
        previous = _read_holder(handle)
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    return self._lock_by_pid(previous)  # a file system without flock
                raise self._refusal(_read_holder(handle) or previous) from None
            try:
                same_file = os.fstat(handle).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same_file = False
            if not same_file:
                return False
            return _read_holder(handle)
        return self._lock_by_pid(previous)

    def _lock_by_pid(self, previous: Holder | None) -> Holder | None:
        if previous is None or not _alive(previous):
            return previous
        raise self._refusal(previous, unsure=previous.host != socket.gethostname())

    def _refusal(self, holder: Holder | None, unsure: bool = False) -> WorkDirLockedError:
        who = holder.describe() if holder is not None else "a process that has not written its name yet"
        advice = (
            f"if that run is no longer running, remove {self.path}; otherwise "
            if unsure
            else "wait for it to end or stop it, or "
        )
        return WorkDirLockedError(
            f"{self.work_dir} is in use by another training run ({who}): two runs in one work dir would "
            f"overwrite each other's checkpoints; {advice}train into another work dir (--work-dir)"
        )

    def release(self) -> None:
        """Remove the lock file and let go of the lock."""
        if self.handle is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # while still locked, so no other run locks a file that is then removed
        os.close(self.handle)
        self.handle = None


def _alive(holder: Holder) -> bool:
    """Whether the holder's process runs (a holder on another host, or where we cannot tell, is taken as running)."""
    if holder.host != socket.gethostname() or os.name == "nt":  # os.kill(pid, 0) on Windows sends CTRL_C_EVENT
        return True
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user
        return True
    return True


def _read_holder(handle: int) -> Holder | None:
    """The holder a lock file names; None for an empty or unreadable one."""
    os.lseek(handle, 0, os.SEEK_SET)
    data = os.read(handle, 4096)
    try:
        content = json.loads(data)
        return Holder(int(content["pid"]), str(content["host"]), str(content["started"]))
    except (ValueError, KeyError, TypeError):
        return None


def _write_holder(handle: int, holder: Holder) -> None:
    data = json.dumps({"pid": holder.pid, "host": holder.host, "started": holder.started}).encode() + b"\n"
    os.ftruncate(handle, 0)
    os.lseek(handle, 0, os.SEEK_SET)
    os.write(handle, data)
    os.fsync(handle)


@contextlib.contextmanager
def hold_work_dir(work_dir: Path, context: DistributedContext) -> Iterator[None]:
    """Hold ``work_dir``'s lock for the run (the main process takes it; every process raises
    :class:`WorkDirLockedError` where another run holds it)."""
    lock, problem, stale = WorkDirLock(work_dir), None, None
    if context.is_main:
        try:
            stale = lock.acquire()
        except OSError as error:  # held by another run, or a work dir that cannot be written
            problem = (type(error) is WorkDirLockedError, str(error) or f"cannot write {lock.path}: {error!r}")
    problem = all_gather_objects(problem)[0]  # a collective: every process stops when the main one cannot lock
    if problem is not None:
        locked, message = problem
        raise (WorkDirLockedError if locked else OSError)(message)
    try:
        if stale is not None:
            RunLog(Path(work_dir), context.is_main).info(
                f"took over {lock.path}, left by a run that no longer holds it ({stale.describe()})"
            )
        yield
    finally:
        lock.release()
