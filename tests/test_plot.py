"""`mobilevit plot WORK_DIR` draws the run's loss, learning rate and validation metric into a PNG."""

import json

import numpy as np
import pytest
from PIL import Image

from mobilevit.cli import main as cli
from mobilevit.plot import COLOURS, PANEL_HEIGHT, read_curves


def _write_run(work_dir, losses, learning_rates, top1s, steps_per_epoch=5):
    work_dir.mkdir(parents=True, exist_ok=True)
    records = []
    for index, (loss, lr) in enumerate(zip(losses, learning_rates), start=1):
        records.append(
            {"kind": "train", "epoch": 1 + (index - 1) // steps_per_epoch, "step": index, "lr": lr, "loss": loss}
        )
        if index % steps_per_epoch == 0:
            epoch = index // steps_per_epoch
            records.append({"kind": "epoch", "epoch": epoch, "steps": index})
            records.append({"kind": "val", "epoch": epoch, "top1": top1s[epoch - 1], "images": 9, "skipped_images": 0})
            records.append({"kind": "val_ema", "epoch": epoch, "top1": top1s[epoch - 1] / 2, "images": 9})
    (work_dir / "log.jsonl").write_text("".join(json.dumps(record) + "\n" for record in records))
    (work_dir / "config.json").write_text(json.dumps({"task": "classification"}))


def _rows_of(pixels: np.ndarray, colour: tuple[int, int, int], panel: int) -> dict[int, float]:
    """For each column of a panel, the mean row of the pixels of ``colour`` (in the panel's own rows)."""
    band = pixels[panel * PANEL_HEIGHT + 30 : (panel + 1) * PANEL_HEIGHT - 30]  # below the legend
    rows, columns = np.nonzero(np.all(band == colour, axis=-1))
    return {int(column): float(rows[columns == column].mean()) for column in np.unique(columns)}


def test_plot_draws_each_series_where_its_values_put_it(tmp_path, capsys):
    steps = 20
    losses = list(np.linspace(2.0, 0.5, steps))  # falling
    learning_rates = [min(step / 5, 1.0) * 1e-3 for step in range(1, steps + 1)]  # rising, then flat
    _write_run(tmp_path / "run", losses, learning_rates, top1s=[40.0, 60.0, 70.0, 90.0])

    assert cli(["plot", str(tmp_path / "run")]) == 0
    path = tmp_path / "run" / "curves.png"
    assert capsys.readouterr().out == f"wrote {path}\n"
    pixels = np.asarray(Image.open(path).convert("RGB"))
    assert pixels.shape == (3 * PANEL_HEIGHT, 960, 3)

    loss = _rows_of(pixels, COLOURS["loss"], 0)
    first, last = min(loss), max(loss)
    assert loss[first] < loss[last] - 100  # the loss line falls from the top left to the bottom right
    assert not _rows_of(pixels, COLOURS["loss"], 1) and not _rows_of(pixels, COLOURS["loss"], 2)

    lr = _rows_of(pixels, COLOURS["lr"], 1)
    columns = sorted(lr)
    middle = columns[len(columns) // 2]
    assert lr[columns[0]] > lr[middle] + 100 and abs(lr[middle] - lr[columns[-1]]) < 3  # up, then flat

    val, ema = _rows_of(pixels, COLOURS["val"], 2), _rows_of(pixels, COLOURS["val_ema"], 2)
    assert val[min(val)] > val[max(val)] + 100  # top-1 rises
    shared = set(val) & set(ema)
    assert shared and all(ema[column] > val[column] for column in shared)  # the EMA's half is drawn lower
    assert min(val) > min(loss)  # the first evaluation sits at step 5, not at the start


def test_read_curves_places_each_evaluation_at_the_end_of_its_epoch(tmp_path):
    _write_run(tmp_path, [1.0] * 10, [1e-3] * 10, top1s=[50.0, 75.0])
    curves = read_curves(tmp_path)
    assert curves.metric == "top1"
    assert [series.points for series in curves.validation] == [[(5, 50.0), (10, 75.0)], [(5, 25.0), (10, 37.5)]]
    assert curves.loss.points[:2] == [(1, 1.0), (2, 1.0)]


def test_a_folder_without_a_run_log_is_named(tmp_path, capsys):
    assert cli(["plot", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert f"{tmp_path / 'log.jsonl'} not found: pass the work dir of a training run" in error
    (tmp_path / "log.jsonl").write_text('{"kind": "epoch", "epoch": 1, "steps": 1}\n')
    with pytest.raises(ValueError, match="has no 'train' records yet"):
        read_curves(tmp_path)
