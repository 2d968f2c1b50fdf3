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
from mobilevit.download import cached_path
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
    assert (
        main(
            [
                "predict",
                str(files / "a.png"),
                str(files / "b.jpg"),
                "--model",
                NAME,
                "--checkpoint",
                str(files / "xxs.pth"),
                "--topk",
                "3",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("a.png") and out[5].endswith("b.jpg") and len(out) == 10
    assert out[1].split() == ["rank", "label", "score", "class"]
    rank, label, score, *name = out[2].split()
    assert rank == "1" and " ".join(name) == IMAGENET_CLASSES[int(label)] and 0 < float(score) <= 1


def test_predict_json_lines(files, capsys):
    assert (
        main(
            [
                "predict",
                str(files / "a.png"),
                str(files / "b.jpg"),
                "--model",
                str(CONFIG),
                "--checkpoint",
                str(files / "xxs.pth"),
                "--json",
                "--topk",
                "2",
                "--batch-size",
                "1",
            ]
        )
        == 0
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [Path(line["image"]).name for line in lines] == ["a.png", "b.jpg"]
    for line in lines:
        assert len(line["topk"]) == 2 and line["topk"][0]["label"] == line["pred_label"]
        assert line["pred_class"] == IMAGENET_CLASSES[line["pred_label"]]
        assert line["topk"][0]["score"] == pytest.approx(line["pred_score"])
        assert line["topk"][0]["score"] >= line["topk"][1]["score"]


def test_predict_with_a_zoo_name_uses_the_cached_official_weights(files, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MOBILEVIT_HOME", str(tmp_path))
    cached = cached_path(get_record(NAME).url)
    cached.parent.mkdir(parents=True)
    shutil.copy(files / "xxs.pth", cached)
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
        argv + ["convert", str(files / "xxs.pth"), str(tmp_path / "xxs.safetensors")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "mmpretrain layout, arch xx_small, 1000 classes" in result.stdout


def test_predict_takes_the_images_of_a_directory_sorted(files, tmp_path, capsys):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(files / "b.jpg", folder / "b.jpg")
    shutil.copy(files / "a.png", folder / "sub" / "a.png")
    Image.open(files / "a.png").convert("P").save(folder / "c.GIF")
    (folder / "notes.txt").write_text("not an image")
    assert main(["predict", str(folder), "--model", NAME, "--checkpoint", str(files / "xxs.pth"), "--json"]) == 0
    images = [json.loads(line)["image"] for line in capsys.readouterr().out.splitlines()]
    assert images == [str(folder / "b.jpg"), str(folder / "c.GIF"), str(folder / "sub" / "a.png")]


def test_predict_reports_each_bad_input_and_classifies_the_others(files, tmp_path, capsys):
    (tmp_path / "bad.jpg").write_text("not an image")
    Image.new("RGB", (3000, 2)).save(tmp_path / "thin.png")
    (tmp_path / "empty").mkdir()
    inputs = [
        str(files / "a.png"),
        str(tmp_path / "bad.jpg"),
        str(tmp_path / "missing.png"),
        str(tmp_path / "empty"),
        str(tmp_path / "thin.png"),
        str(files / "b.jpg"),
    ]
    assert (
        main(
            ["predict", *inputs, "--model", NAME, "--checkpoint", str(files / "xxs.pth"), "--json", "--batch-size", "2"]
        )
        == 2
    )
    captured = capsys.readouterr()
    assert [json.loads(line)["image"] for line in captured.out.splitlines()] == [inputs[0], inputs[-1]]
    errors = captured.err.splitlines()
    assert len(errors) == 5 and all(line.startswith("mobilevit predict: error: ") for line in errors)
    assert "empty" in errors[0] and "bad.jpg" in errors[1] and "image not found" in errors[2]
    assert "aspect ratio" in errors[3]
    assert errors[4].endswith("4 of the inputs could not be read (reported above); the other 2 were predicted")


def test_convert_writes_a_custom_arch_from_a_training_checkpoint_or_a_config(tmp_path, capsys):
    arch = [["mobilenetv2", 8, 1, 1, 2], ["mobilevit", 16, 2, 16, 32, 1, 2]]
    model = build_classifier(arch, num_classes=3)
    preprocessing = {
        "resize_short": 36,
        "crop_size": 32,
        "interpolation": "bilinear",
        "channel_order": "BGR",
        "mean": [0, 0, 0],
        "std": [255, 255, 255],
    }
    config = {
        "model": {"arch": arch, "num_classes": 3, "class_names": ["x", "y", "z"]},
        "data": {"preprocessing": preprocessing},
    }
    torch.save(
        {"model": model.state_dict(), "ema": None, "step": 4, "epoch": 1, "config": config}, tmp_path / "latest.pth"
    )
    assert main(["convert", str(tmp_path / "latest.pth"), str(tmp_path / "tiny.safetensors")]) == 0
    assert "training layout, arch custom (2 stages), 3 classes" in capsys.readouterr().out
    written = read_checkpoint(tmp_path / "tiny.safetensors")
    assert written.metadata["arch"] == arch and written.metadata["class_names"] == ["x", "y", "z"]
    assert written.metadata["preprocessing"]["crop_size"] == 32
    torch.save(model.state_dict(), tmp_path / "bare.pth")
    assert main(["convert", str(tmp_path / "bare.pth"), str(tmp_path / "bare.safetensors")]) == 2
    assert "matches none of the archs" in capsys.readouterr().err
    (tmp_path / "tiny.py").write_text(
        f"model = dict(arch={arch!r}, num_classes=3)\ndata = dict(preprocessing=dict(resize_short=36, crop_size=32))\n"
    )
    assert (
        main(
            [
                "convert",
                str(tmp_path / "bare.pth"),
                str(tmp_path / "bare.safetensors"),
                "--config",
                str(tmp_path / "tiny.py"),
            ]
        )
        == 0
    )
    assert read_checkpoint(tmp_path / "bare.safetensors").metadata["arch"] == arch
