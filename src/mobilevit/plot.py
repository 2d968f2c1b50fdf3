"""A picture of a training run: loss, learning rate and validation metric over the optimizer steps.

Read from the run's ``log.jsonl`` (and ``config.json`` for the metric that picks ``best.pth``) and
drawn with Pillow, so that no plotting package is needed: three panels one above the other, each
with its series as a line, the axis ranges written at the ends and a legend.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .errors import UsageError

WIDTH, PANEL_HEIGHT = 960, 280
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 90, 30, 34, 34
BACKGROUND, AXES, TEXT = (255, 255, 255), (90, 90, 90), (20, 20, 20)
# One colour per series (Tableau's first colours), so a reader of the PNG can find each line.
COLOURS = {
    "loss": (31, 119, 180),
    "lr": (255, 127, 14),
    "val": (44, 160, 44),
    "val_ema": (148, 103, 189),
}
IGNORED = {"epoch", "images", "skipped_images", "time", "step"}  # fields of val records that are no metric


@dataclass
class Series:
    """One line of a panel: its name, colour and (step, value) points."""

    name: str
    colour: tuple[int, int, int]
    points: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Curves:
    """What a run's log holds for the picture."""

    loss: Series
    lr: Series
    metric: str
    validation: list[Series]


def read_curves(work_dir: str | os.PathLike) -> Curves:
    """The loss and learning rate of each ``train`` record, and the validation metric of each
    ``val`` (and ``val_ema``) record placed at the step that ended its epoch."""
    work_dir = Path(work_dir)
    path = work_dir / "log.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: pass the work dir of a training run (train.work_dir)")
    records = []
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines, start=1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if number < len(lines):  # the last line may be cut by a kill
                raise UsageError(f"{path}, line {number}: not a JSON record") from None
    loss, lr = Series("loss", COLOURS["loss"]), Series("learning rate", COLOURS["lr"])
    for record in records:
        if record.get("kind") == "train":
            loss.points.append((record["step"], record["loss"]))
            lr.points.append((record["step"], record["lr"]))
    if not loss.points:
        raise UsageError(f"{path} has no 'train' records yet: nothing to plot (train.log_interval sets how often)")
    epoch_end = {record["epoch"]: record["steps"] for record in records if record.get("kind") == "epoch"}
    metric = _metric(work_dir, records)
    validation = []
    for kind, name in (("val", metric), ("val_ema", f"{metric} (EMA)")):
        series = Series(name, COLOURS[kind])
        for record in records:
            if record.get("kind") == kind and record["epoch"] in epoch_end and record.get(metric) is not None:
                series.points.append((epoch_end[record["epoch"]], record[metric]))
        if series.points:
            validation.append(series)
    return Curves(loss, lr, metric, validation)


def _metric(work_dir: Path, records: Sequence[dict]) -> str:
    """The metric that picks ``best.pth`` (the task's, as config.json names it), else the first
    figure of the first ``val`` record."""
    config_path = work_dir / "config.json"
    if config_path.is_file():
        from .tasks import get_task

        return get_task(json.loads(config_path.read_text()).get("task", "classification")).best_metric
    for record in records:
        if record.get("kind") == "val":
            return next(key for key, value in record.items() if key not in IGNORED and isinstance(value, float))
    return "metric"


def plot_run(work_dir: str | os.PathLike, output: str | os.PathLike | None = None) -> Path:
    """Draw the curves of the run in ``work_dir`` into a PNG (default ``<work_dir>/curves.png``); return its path."""
    curves = read_curves(work_dir)
    panels = [
        ("training loss", [curves.loss]),
        ("learning rate", [curves.lr]),
        (f"validation {curves.metric}", curves.validation),
    ]
    steps = [step for series in (curves.loss, *curves.validation) for step, _ in series.points]
    x_range = (min(0.0, *steps), max(steps))
    image = Image.new("RGB", (WIDTH, PANEL_HEIGHT * len(panels)), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = _font()
    for index, (title, series) in enumerate(panels):
        _panel(draw, font, index * PANEL_HEIGHT, title, series, x_range)
    path = Path(output) if output is not None else Path(work_dir) / "curves.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=14)
    except TypeError:  # Pillow before 10.1: the fixed bitmap font
        return ImageFont.load_default()


def _panel(
    draw: ImageDraw.ImageDraw,
    font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
    top: int,
    title: str,
    series: Sequence[Series],
    x_range: tuple[float, float],
) -> None:
    """One panel: a frame, the title, the axis ranges, each series as a line and a legend."""
    left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    upper, lower = top + MARGIN_TOP, top + PANEL_HEIGHT - MARGIN_BOTTOM
    draw.rectangle((left, upper, right, lower), outline=AXES)
    draw.text((left, top + 8), title, fill=TEXT, font=font)
    if not series:
        draw.text((left + 10, upper + 10), "no validation yet", fill=AXES, font=font)
        return
    values = [value for one in series for _, value in one.points]
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 0.5 * (abs(low) or 1), high + 0.5 * (abs(high) or 1)
    for value, y in ((high, upper), (low, lower)):
        draw.text((8, y - 8), _number(value), fill=TEXT, font=font)
    for step, x in ((x_range[0], left), (x_range[1], right)):
        draw.text((x - 10, lower + 6), f"{step:g}", fill=TEXT, font=font)
    draw.text(((left + right) // 2 - 20, lower + 6), "step", fill=AXES, font=font)

    def at(step: float, value: float) -> tuple[float, float]:
        span = (x_range[1] - x_range[0]) or 1.0
        return (
            left + (step - x_range[0]) / span * (right - left),
            lower - (value - low) / (high - low) * (lower - upper),
        )

    for number, one in enumerate(series):
        points = [at(step, value) for step, value in one.points]
        if len(points) > 1:
            draw.line(points, fill=one.colour, width=2)
        for x, y in points if len(points) <= 60 else points[-1:]:  # dots where there are few points
            draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=one.colour)
        legend_x = right - 220 * (len(series) - number)
        draw.line((legend_x, top + 16, legend_x + 24, top + 16), fill=one.colour, width=3)
        draw.text((legend_x + 30, top + 8), one.name, fill=TEXT, font=font)


def _number(value: float) -> str:
    return f"{value:.3g}" if abs(value) >= 1e-2 or value == 0 else f"{value:.2e}"
