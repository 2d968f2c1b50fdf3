"""Stopping a run cleanly on Ctrl-C (SIGINT) or SIGTERM.

While :class:`StopRequest` is entered, the first of these signals only sets a request; the
training loop sees it at its next optimizer step, writes ``latest.pth`` there and raises a
``KeyboardInterrupt`` (see :func:`interrupted`), which the command line turns into one line and
the exit status 130 (SIGINT) or 143 (SIGTERM). A second signal stops at once. Leaving the
context puts the previous handlers back, so the process is as it was found.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType, TracebackType

import torch
import torch.distributed as dist

from .distributed import DistributedContext

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def interrupted(message: str, signal_number: int) -> KeyboardInterrupt:
    """The ``KeyboardInterrupt`` that ends a run stopped by a signal, with the exit status the
    command line gives it (``exit_status``: 128 + the signal's number)."""
    error = KeyboardInterrupt(message)
    error.exit_status = 128 + signal_number  # type: ignore[attr-defined]
    return error


class StopRequest:
    """A context in which SIGINT and SIGTERM ask the run to stop at its next step boundary.

    Handlers can only be set from the main thread; elsewhere the context changes nothing and the
    signals keep their usual effect.
    """

    def __init__(self) -> None:
        self.signal_number: int | None = None
        self._previous: dict[int, object] = {}
        self._process = os.getpid()  # data loader workers forked from this one inherit the handler

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for number in SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if os.getpid() != self._process:  # a worker: the training process decides, the worker goes on
            return
        if self.signal_number is not None:  # asked twice: stop now, without a checkpoint
            raise KeyboardInterrupt(f"{signal.Signals(number).name} again: stopped at once, no checkpoint written")
        self.signal_number = number
        print(
            f"{signal.Signals(number).name}: stopping after this optimizer step to write a checkpoint "
            "(send it again to stop at once)",
            file=sys.stderr,
            flush=True,
        )

    def requested(self, context: DistributedContext) -> int | None:
        """The signal asked for a stop in any process, or None. A collective when distributed:
        every process calls it at the same steps, so all stop at the same one."""
        if context.world_size == 1 or not dist.is_initialized():
            return self.signal_number
        flag = torch.tensor([self.signal_number or 0], device=context.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag.item()) or None
