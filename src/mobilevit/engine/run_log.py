"""The log of a run: text (train.log) and JSON lines (log.jsonl) in the work dir, flushed line by line."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm


class RunLog:
    """Writes on the main process only; text lines also go to the terminal (above any progress bar)."""

    def __init__(self, work_dir: Path, enabled: bool) -> None:
        self.enabled = enabled
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

    def record(self, kind: str, **values: Any) -> None:
        """A JSON line ``{"kind": kind, ...values}`` and the same as a line of text."""
        if not self.enabled:
            return
        with self.json_path.open("a") as file:
            file.write(json.dumps({"kind": kind, "time": round(time.time(), 3), **values}) + "\n")
        self.info(f"{kind}: " + "  ".join(f"{key} {_format(value)}" for key, value in values.items()))


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e-2 else f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)
