"""A trained checkpoint stands alone: init_model, predict, test, export and flops need no config."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import mobilevit
from mobilevit.checkpoint import save_checkpoint
from mobilevit.cli import main
from mobilevit.config import load_config
from mobilevit.data.transforms import Preprocessing
from mobilevit.engine import trainer
from mobilevit.models import build_classifier
from tiny_run import CLASSES, tiny_config, tiny_imagenet  # noqa: F401 (fixtures)

FOLDERS = [f"n0{label}_{name}" for label, name in enumerate(CLASSES)]


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_imagenet):  # noqa: F811
    """A work dir after two training steps of the tiny config."""
    from tiny_run import TINY_CONFIG

    folder = tmp_path_factory.mktemp("run")
    (folder / "tiny.py").write_text(TINY_CONFIG.format(root=str(tiny_imagenet), work_dir=str(folder / "work")))
    trainer.main(load_config(folder / "tiny.py", ["train.max_steps=2"]))
    return folder / "work"


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    path = tmp_path_factory.mktemp("images") / "red.png"
    pixels = np.zeros((40, 30, 3), np.uint8)
    pixels[..., 0] = 220
    Image.fromarray(pixels).save(path)
    return path


def _logits(model, size=32):
    torch.manual_seed(1)
    with torch.no_grad():
        return model(torch.rand(2, 3, size, size))


def test_init_model_from_a_training_checkpoint_alone(run):
    alone = mobilevit.init_model(run / "latest.pth")
    with_config = mobilevit.init_model(run / "config.json", run / "latest.pth")
    assert torch.equal(_logits(alone), _logits(with_config))
    assert alone.class_names == tuple(FOLDERS) and alone.preprocessing.crop_size == 32
    assert torch.equal(_logits(mobilevit.init_model(checkpoint=run / "latest.pth")), _logits(alone))
    changed = mobilevit.init_model(run / "latest.pth", cfg_options=["data.preprocessing.crop_size=24"])
    assert changed.preprocessing.crop_size == 24
    with pytest.raises(ValueError, match="unknown key 'model.num_clases'; did you mean 'num_classes'"):
        mobilevit.init_model(run / "latest.pth", cfg_options=["model.num_clases=3"])


def test_init_model_from_our_safetensors_alone(tmp_path):
    arch = [["mobilenetv2", 8, 1, 1, 2], ["mobilevit", 16, 2, 16, 32, 1, 2]]
    torch.manual_seed(0)
    model = build_classifier(arch, num_classes=3).eval()
    preprocessing = Preprocessing(resize_short=40, crop_size=32, channel_order="RGB", mean=(1.0, 2.0, 3.0))
    path = save_checkpoint(
        tmp_path / "model.safetensors",
        model.state_dict(),
        model.backbone.arch,
        preprocessing=preprocessing,
        class_names=["a", "b", "c"],
    )
    loaded = mobilevit.init_model(path, fuse=False)
    assert torch.equal(_logits(loaded), _logits(model))
    assert loaded.preprocessing == preprocessing and loaded.class_names == ("a", "b", "c")
    with pytest.raises(ValueError, match="carries no config for cfg_options to change"):
        mobilevit.init_model(path, cfg_options=["model.dropout=0.1"])


def test_a_training_checkpoint_converted_to_our_format_keeps_its_model(run, tmp_path):
    assert main(["convert", str(run / "latest.pth"), str(tmp_path / "run.safetensors")]) == 0
    converted, trained = mobilevit.init_model(tmp_path / "run.safetensors"), mobilevit.init_model(run / "latest.pth")
    assert torch.equal(_logits(converted), _logits(trained))
    assert converted.preprocessing == trained.preprocessing and converted.preprocessing.crop_size == 32
    assert converted.class_names == tuple(FOLDERS)


def test_init_model_infers_the_arch_of_another_layout(tmp_path):
    torch.manual_seed(0)
    model = build_classifier("xx_small", num_classes=7).eval()
    torch.save({"meta": {}, "state_dict": model.state_dict()}, tmp_path / "mmpretrain.pth")
    loaded = mobilevit.init_model(tmp_path / "mmpretrain.pth", fuse=False)
    assert torch.equal(_logits(loaded, 64), _logits(model, 64)) and loaded.preprocessing == Preprocessing()
    with pytest.raises(ValueError, match="carries no config, as only training checkpoints do"):
        mobilevit.apis.checkpoint_config(tmp_path / "mmpretrain.pth")


def test_predict_test_and_export_take_the_checkpoint_alone(run, image, tmp_path, capsys):
    checkpoint = str(run / "latest.pth")
    assert main(["predict", str(image), "--checkpoint", checkpoint, "--json", "--topk", "3"]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert (
        main(
            [
                "predict",
                str(image),
                "--model",
                str(run / "config.json"),
                "--checkpoint",
                checkpoint,
                "--json",
                "--topk",
                "3",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out) == alone and alone["pred_class"] in FOLDERS

    assert main(["test", checkpoint, "--out", str(tmp_path / "alone.json")]) == 0
    assert main(["test", str(run / "config.json"), checkpoint, "--out", str(tmp_path / "both.json")]) == 0
    assert json.loads((tmp_path / "alone.json").read_text()) == json.loads((tmp_path / "both.json").read_text())
    assert "top-1" in capsys.readouterr().out

    exported = tmp_path / "latest.pt"
    assert main(["export", checkpoint, "--format", "torchscript", "--output", str(exported)]) == 0
    assert (
        main(
            [
                "export",
                "--checkpoint",
                checkpoint,
                "--format",
                "torchscript",
                "--output",
                str(tmp_path / "second.pt"),
                "--cfg-options",
                "data.preprocessing.crop_size=24",
            ]
        )
        == 0
    )
    assert "wrote" in capsys.readouterr().out
    assert (
        main(
            [
                "predict",
                str(image),
                "--backend",
                "torchscript",
                "--checkpoint",
                str(exported),
                "--model",
                checkpoint,
                "--json",
                "--topk",
                "3",
            ]
        )
        == 0
    )
    scripted = json.loads(capsys.readouterr().out)
    assert scripted["pred_label"] == alone["pred_label"]
    assert scripted["pred_score"] == pytest.approx(alone["pred_score"], abs=1e-5)

    assert main(["flops", checkpoint]) == 0
    assert "at 32x32" in capsys.readouterr().out


def test_the_standalone_forms_name_what_is_missing(run, image, tmp_path, capsys):
    model = build_classifier("xx_small")
    torch.save(model.state_dict(), tmp_path / "bare.pth")
    assert main(["test", str(tmp_path / "bare.pth")]) == 2
    assert "carries no config, as only training checkpoints do: give its config file as well" in capsys.readouterr().err
    assert main(["test", str(run / "config.json")]) == 2
    assert "test needs a checkpoint: mobilevit test" in capsys.readouterr().err
    assert main(["predict", str(image)]) == 2
    assert "predict needs a model: pass --checkpoint CHECKPOINT" in capsys.readouterr().err
    assert (
        main(
            [
                "predict",
                str(image),
                "--model",
                "mobilevit-xxsmall_3rdparty_in1k",
                "--checkpoint",
                str(tmp_path / "bare.pth"),
                "--cfg-options",
                "model.dropout=0.1",
            ]
        )
        == 2
    )
    assert "cfg_options change a config, and mobilevit-xxsmall_3rdparty_in1k is a zoo model" in capsys.readouterr().err
    assert main(["export"]) == 2
    assert "export needs a model" in capsys.readouterr().err
    assert Path(run / "latest.pth").is_file()
