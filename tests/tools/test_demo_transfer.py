"""The plumbing of tools/demo_transfer.py, one step per run (docs/fine-tuning.md has the real figures)."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_transfer_demo_fine_tunes_and_trains_from_scratch_and_tests_both(tmp_path, monkeypatch, capsys):
    pytest.importorskip("sklearn")
    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    monkeypatch.chdir(ROOT)  # the script names the demo's config as the docs do, from the repository root
    import demo_transfer

    work = tmp_path / "work"
    assert (
        demo_transfer.main(
            [
                "--data",
                str(tmp_path / "data"),
                "--work-dir",
                str(work),
                "--shots",
                "3",
                "--epochs",
                "1",
                "--cfg-options",
                "train.max_steps=1",
                "data.num_workers=0",
                "train.progress_bar=False",
            ]
        )
        == 0
    )
    assert len(list((tmp_path / "data" / "digits-5to9-3shot" / "train").glob("*/*.png"))) == 15
    rows = json.loads((work / "transfer.json").read_text())
    assert [row["seed"] for row in rows] == [0] and rows[0]["images"] == 133
    figures = [rows[0][f"{arm}_{weights}_top1"] for arm in ("finetuned", "scratch") for weights in ("ema", "model")]
    assert all(0 <= figure <= 100 for figure in figures)
    log = (work / "finetuned-seed0" / "train.log").read_text()
    assert f"pretrained: loaded 201 of the model's 203 tensors from {work / 'source-0to4' / 'latest.pth'}" in log
    assert "pretrained:" not in (work / "scratch-seed0" / "train.log").read_text()
    out = capsys.readouterr().out
    assert "$ mobilevit train configs/mobilevit/mobilevit-tiny_1xb64_digits.py --work-dir" in out
    assert "held-out top-1 on digits 5-9 (133 images), 3 training images per class" in out
