"""The task is the one seam: every task's files load alone, predict is one command for every task,
and no module outside ``tasks/`` and ``models/`` asks which task it holds."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import mobilevit
from arch_table import TINY_ARCH
from mobilevit.apis import convert_checkpoint
from mobilevit.checkpoint import read_metadata, save_checkpoint
from mobilevit.cli import main, output_stems
from mobilevit.data.transforms import Preprocessing
from mobilevit.models import build_classifier, build_segmenter, build_ssdlite

SOURCE = Path(__file__).parents[1] / "src" / "mobilevit"
QUICK = Preprocessing(resize_short=64, crop_size=64, keep_aspect_ratio=False)


def test_no_module_outside_tasks_and_models_asks_which_task_it_holds():
    task_models = "ImageClassifier|DeepLabV3|SSDLite"
    asks = re.compile(
        rf"isinstance\([^)]*\b({task_models})\b|[=!]=\s*\"(classification|segmentation|detection)\""
        rf"|\"(classification|segmentation|detection)\"\s*[=!]="
    )
    offenders = [
        f"{path.relative_to(SOURCE)}:{number}: {line.strip()}"
        for path in SOURCE.rglob("*.py")
        if path.relative_to(SOURCE).parts[0] not in ("tasks", "models")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if asks.search(line)
    ]
    assert offenders == []


@pytest.mark.slow
def test_an_ml_cvnets_ssd_file_loads_alone_and_converts(tmp_path, capsys):
    from models.test_ssdlite import cvnets_ssd_state_dict

    path = tmp_path / "ssd_mobilevit_xxs_320.pt"
    torch.save(cvnets_ssd_state_dict("xx_small"), path)
    model = mobilevit.init_model(path)
    reference = build_ssdlite("xx_small").eval()
    reference.load_state_dict(model.state_dict())
    assert model.task == "detection" and model.num_classes == 81 and model.image_size == 320
    image = torch.rand(1, 3, 320, 320)
    with torch.no_grad():
        torch.testing.assert_close(model(image)["cls_logits"], reference(image)["cls_logits"], equal_nan=True)
    assert main(["convert", str(path), str(tmp_path / "ssd.safetensors")]) == 0
    assert "cvnets_ssd layout, arch xx_small, 81 classes (detection)" in capsys.readouterr().out
    metadata = read_metadata(tmp_path / "ssd.safetensors")
    assert metadata["task"] == "detection" and metadata["score_thresh"] == 0.01
    again = mobilevit.init_model(tmp_path / "ssd.safetensors")
    for key, value in model.state_dict().items():
        torch.testing.assert_close(again.state_dict()[key], value, equal_nan=True, rtol=0, atol=0)


def test_convert_keeps_a_segmenters_atrous_rates_and_class_count(tmp_path):
    torch.manual_seed(0)
    segmenter = build_segmenter(TINY_ARCH, num_classes=3, atrous_rates=(2, 4, 8), aspp_channels=16).eval()
    save_checkpoint(
        tmp_path / "rates.safetensors",
        segmenter.state_dict(),
        TINY_ARCH,
        QUICK,
        class_names=["a", "b", "c"],
        task="segmentation",
        output_stride=16,
        atrous_rates=[2, 4, 8],
    )
    converted = convert_checkpoint(tmp_path / "rates.safetensors", tmp_path / "again.safetensors")
    assert (converted.task, converted.num_classes) == ("segmentation", 3)
    model = mobilevit.init_model(tmp_path / "again.safetensors")
    image = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model(image), segmenter(image), atol=1e-6)


def _models(tmp_path):
    """A tiny classifier, segmenter and detector, each saved in our format alone."""
    torch.manual_seed(0)
    models = {
        "classification": build_classifier(TINY_ARCH, num_classes=3),
        "segmentation": build_segmenter(TINY_ARCH, num_classes=3, aspp_channels=16),
        "detection": build_ssdlite(TINY_ARCH, num_classes=3, image_size=64),
    }
    paths = {}
    for name, model in models.items():
        paths[name] = tmp_path / f"{name}.safetensors"
        names = ["background", "cat", "dog"] if name == "detection" else ["a", "b", "c"]
        save_checkpoint(
            paths[name],
            model.state_dict(),
            TINY_ARCH,
            QUICK,
            class_names=names,
            task=name,
            **mobilevit.tasks.get_task(name).settings_of(model),
        )
    return paths


@pytest.mark.parametrize("task", ["classification", "segmentation", "detection"])
def test_predict_takes_a_directory_and_reports_a_broken_image_while_answering_the_others(task, tmp_path, capsys):
    checkpoint = _models(tmp_path)[task]
    folder = tmp_path / "photos"
    (folder / "more").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("a.png", "more/b.jpg", "more/a.jpg"):
        Image.fromarray(rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)).save(folder / name)
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "out"
    status = main(
        ["predict", str(folder), "--checkpoint", str(checkpoint), "--json", "--out-dir", str(out), "--batch-size", "2"]
    )
    captured = capsys.readouterr()
    assert status == 2
    assert "broken.jpg" in captured.err and "the other 3 were predicted" in captured.err
    answered = [line for line in captured.out.splitlines() if line.startswith("{")]
    assert len(answered) == 3
    pictures = sorted(str(path.relative_to(out)) for path in out.rglob("*.png"))
    expected = {
        "classification": [],
        "segmentation": ["a_mask.png", "a_overlay.png", "more/a_mask.png", "more/a_overlay.png"]
        + ["more/b_mask.png", "more/b_overlay.png"],
        "detection": ["a_detections.png", "more/a_detections.png", "more/b_detections.png"],
    }[task]
    assert pictures == expected


def test_two_inputs_never_share_an_output_name():
    stems = output_stems([("x.png", "x.png"), ("x.jpg", "x.jpg"), ("y.png", "y.png"), ("d/x.png", "x.png")])
    assert len(set(stems.values())) == 4
    assert stems["y.png"] == "y" and stems["x.jpg"] == "x_jpg" and stems["d/x.png"] == "x_png_2"


def test_a_bug_shows_its_traceback_under_debug(monkeypatch, capsys):
    from mobilevit.config import ConfigError, load_config

    def buggy(args):
        raise ValueError("a bug in mobilevit")

    monkeypatch.setattr("mobilevit.cli._list", buggy)
    with pytest.raises(ValueError, match="a bug in mobilevit"):  # none of mobilevit's error classes: a bug
        main(["list"])
    with pytest.raises(ValueError, match="a bug in mobilevit"):
        main(["--debug", "list"])
    monkeypatch.setattr("mobilevit.cli._list", lambda args: load_config("missing.py"))  # a user's error
    assert main(["list"]) == 2 and "config file not found" in capsys.readouterr().err
    monkeypatch.setenv("MOBILEVIT_DEBUG", "1")
    with pytest.raises(ConfigError, match="config file not found"):
        main(["list"])


def test_a_config_holds_only_its_own_tasks_settings():
    from mobilevit.config import ConfigError, config_from_dict, load_config, to_dict

    classification = load_config("configs/mobilevit/mobilevit-xxsmall_8xb128_in1k.py")
    saved = to_dict(classification)
    assert "detection" not in saved and "atrous_rates" not in saved["model"]
    assert "atrous_rates" in to_dict(load_config("configs/deeplabv3/deeplabv3_mobilevit-xxsmall_4xb32_voc.py"))["model"]
    with pytest.raises(ConfigError, match="detection.image_size is a detection setting, and this config's task is"):
        load_config("configs/mobilevit/mobilevit-xxsmall_8xb128_in1k.py", ["detection.image_size=256"])
    with pytest.raises(ConfigError, match="model.aspp_channels is a segmentation setting"):
        config_from_dict({**saved, "task": "detection", "model": {**saved["model"], "aspp_channels": 64}})
    # a config saved whole by an earlier version (every section, other tasks' at their defaults) still reads
    import dataclasses
    import json

    whole = json.loads(json.dumps(dataclasses.asdict(classification)))
    assert to_dict(config_from_dict(whole)) == saved
