"""`mobilevit predict` and `mobilevit convert`, end to end."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mobilevit.checkpoint import read_checkpoint
from mobilevit.cli import main
from mobilevit.imagenet import IMAGENET_CLASSES
from mobilevit.models import build_classifier
from mobilevit.zoo import get_record

NAME = "mobilevit-xxsmall_3rdparty_in1k"
CONFIG = Path(__file__).parents[1] / "configs" / "mobilevit" / "mobilevit-xxsmall_8xb128_in1k.py"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    torch.manual_seed(0)
    model = build_classifier("xx_small")
    torch.save({"meta": {}, "state_dict": model.state_dict()}, folder / "xxs.pth")
    y, x = np.mgrid[0:64, 0:96]
    Image.fromarray(np.stack([x * 2, y * 3, (x * y) % 256], -1).astype(np.uint8)).save(folder / "a.png")
    Image.fromarray(np.full((50, 70, 3), 128, np.uint8)).save(folder / "b.jpg")
    return folder


def test_predict_prints_a_top_k_table(files, capsys):
    assert main(["predict", str(files / "a.png"), str(files / "b.jpg"), "--model", NAME,
                 "--checkpoint", str(files / "xxs.pth"), "--topk", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("a.png") and out[5].endswith("b.jpg") and len(out) == 10
    assert out[1].split() == ["rank", "label", "score", "class"]
    rank, label, score, *name = out[2].split()
    assert rank == "1" and " ".join(name) == IMAGENET_CLASSES[int(label)] and 0 < float(score) <= 1


def test_predict_json_lines(files, capsys):
    assert main(["predict", str(files / "a.png"), str(files / "b.jpg"), "--model", str(CONFIG),
                 "--checkpoint", str(files / "xxs.pth"), "--json", "--topk", "2", "--batch-size", "1"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [Path(line["image"]).name for line in lines] == ["a.png", "b.jpg"]
    for line in lines:
        assert len(line["topk"]) == 2 and line["topk"][0]["label"] == line["pred_label"]
        assert line["pred_class"] == IMAGENET_CLASSES[line["pred_label"]]
        assert line["topk"][0]["score"] == pytest.approx(line["pred_score"])
        assert line["topk"][0]["score"] >= line["topk"][1]["score"]


def test_predict_with_a_zoo_name_uses_the_cached_official_weights(files, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MOBILEVIT_HOME", str(tmp_path))
    (tmp_path / "checkpoints").mkdir()
    shutil.copy(files / "xxs.pth", tmp_path / "checkpoints" / get_record(NAME).filename)
    assert main(["predict", str(files / "a.png"), "--model", NAME, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pred_class"] in IMAGENET_CLASSES


def test_predict_errors_are_one_line(files, tmp_path, capsys):
    (tmp_path / "bad.jpg").write_text("not an image")
    assert main(["predict", str(tmp_path / "bad.jpg"), "--model", NAME, "--checkpoint", str(files / "xxs.pth")]) == 2
    assert "bad.jpg" in capsys.readouterr().err
    assert main(["predict", str(files / "a.png"), "--model", str(CONFIG)]) == 2
    assert "pass --checkpoint" in capsys.readouterr().err


def test_convert_infers_the_arch_and_writes_our_format(files, tmp_path, capsys):
    timm = pytest.importorskip("timm")
    source = tmp_path / "timm_xxs.pth"
    torch.save(timm.create_model("mobilevit_xxs", pretrained=False).state_dict(), source)
    assert main(["convert", str(source), str(tmp_path / "xxs.safetensors")]) == 0
    out = capsys.readouterr().out
    assert "timm layout, arch xx_small, 1000 classes, stem input channels reversed RGB -> BGR" in out
    converted = read_checkpoint(tmp_path / "xxs.safetensors")
    assert converted.metadata["arch"] == "xx_small" and converted.metadata["source_layout"] == "timm"
    converted_path = str(tmp_path / "xxs.safetensors")
    assert main(["predict", str(files / "a.png"), "--model", NAME, "--checkpoint", converted_path]) == 0


def test_convert_with_the_wrong_arch_fails_before_writing(files, tmp_path, capsys):
    assert main(["convert", str(files / "xxs.pth"), str(tmp_path / "out.safetensors"), "--arch", "small"]) == 2
    assert "does not match the model" in capsys.readouterr().err
    assert not (tmp_path / "out.safetensors").exists()


def test_the_console_command_runs_convert(files, tmp_path):
    command = Path(sys.executable).parent / "mobilevit"
    argv = [str(command)] if command.exists() else [sys.executable, "-m", "mobilevit.cli"]
    result = subprocess.run(
        argv + ["convert", str(files / "xxs.pth"), str(tmp_path / "xxs.safetensors")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "mmpretrain layout, arch xx_small, 1000 classes" in result.stdout
