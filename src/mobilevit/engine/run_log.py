"""The log of a run: text (train.log) and JSON lines (log.jsonl) in the work dir, flushed line by
line; with ``train.tensorboard``, the same figures as TensorBoard scalars in ``<work_dir>/tensorboard``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..errors import MissingPackageError


class RunLog:
    """Writes on the main process only; text lines also go to the terminal (above any progress bar)."""

    def __init__(self, work_dir: Path, enabled: bool, tensorboard: bool = False) -> None:
        self.enabled = enabled
        self.scalars = _Scalars(work_dir / "tensorboard") if enabled and tensorboard else None
        if enabled:
            work_dir.mkdir(parents=True, exist_ok=True)
            self.text_path = work_dir / "train.log"
            self.json_path = work_dir / "log.jsonl"

    def info(self, text: str) -> None:
        """A line of text, time-stamped in the file."""
        if not self.enabled:
            return
        tqdm.write(text)
        with self.text_path.open("a") as file:
            file.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n")

    def rewind(self, step: int, epoch: int) -> int:
        """Drop the JSON records that a run resumed at optimizer step ``step``, with ``epoch``
        epochs finished, writes again: training steps after ``step``, epoch and evaluation records
        of later epochs, and a line cut short by a kill. Returns how many were dropped.
        """
        if self.scalars is not None:
            self.scalars.purge_step = step + 1  # what the run writes anew, after its checkpoint
        if not self.enabled or not self.json_path.is_file():
            return 0
        kept, dropped = [], 0
        for line in self.json_path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                record = None
            if isinstance(record, dict) and not _after(record, step, epoch):
                kept.append(line + "\n")
            else:
                dropped += 1
        if dropped:
            temporary = self.json_path.with_name(f".{self.json_path.name}.tmp")
            temporary.write_text("".join(kept))
            os.replace(temporary, self.json_path)
        return dropped

    def record(self, kind: str, **values: Any) -> None:
        """A JSON line ``{"kind": kind, ...values}`` and the same as a line of text."""
        if not self.enabled:
            return
        with self.json_path.open("a") as file:
            file.write(json.dumps({"kind": kind, "time": round(time.time(), 3), **values}) + "\n")
        if self.scalars is not None:
            self.scalars.add(kind, values)
        self.info(f"{kind}: " + "  ".join(f"{key} {_format(value)}" for key, value in values.items()))


class _Scalars:
    """The figures of the log as TensorBoard scalars (``train/loss``, ``train/lr``, ``val/top1`` ...)
    over the optimizer steps, through ``torch.utils.tensorboard``; evaluation figures at the step
    that ended their epoch."""

    def __init__(self, folder: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise MissingPackageError(
                "train.tensorboard=True needs the tensorboard package: pip install tensorboard "
                "(or mobilevit[tensorboard]), or set train.tensorboard=False"
            ) from None
        self.writer_class = SummaryWriter
        self.folder = folder
        self.writer: Any = None  # made at the first figure, after a resumed run's rewind set purge_step
        self.purge_step: int | None = None
        self.step = 0

    def add(self, kind: str, values: dict[str, Any]) -> None:
        self.step = values.get("step", values.get("steps", self.step))
        figures = {
            name: value
            for name, value in values.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool) and name not in _NOT_FIGURES
        }
        if not figures:
            return
        if self.writer is None:
            self.writer = self.writer_class(str(self.folder), purge_step=self.purge_step)
        for name, value in figures.items():
            self.writer.add_scalar(f"{kind}/{name}", value, self.step)
        self.writer.flush()


# Fields of log records that are counters or positions, not figures to plot.
_NOT_FIGURES = {"epoch", "step", "steps", "images", "skipped_images"}


def _after(record: dict[str, Any], step: int, epoch: int) -> bool:
    """Whether a JSON record comes after optimizer step ``step`` / finished epoch ``epoch``."""
    if record.get("kind") == "train":
        return record.get("step", 0) > step
    return record.get("epoch", 0) > epoch


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e-2 else f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)
