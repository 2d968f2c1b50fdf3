"""A short detection run end to end on digit scans pasted on canvases (written by
tools/demo_detection.py): training from a classifier's backbone, an exact resume, testing on
held-out canvases to an mAP clearly above zero, prediction with drawn boxes and ONNX export,
through the command line."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from mobilevit.cli import main as cli
from mobilevit.config import load_config
from mobilevit.engine import tester, trainer
from mobilevit.export import RUNTIMES
from mobilevit.models import build_classifier

pytest.importorskip("pycocotools")
ROOT = Path(__file__).resolve().parents[2]

# One digit class on 64x64 canvases: 32 to train on, 16 held out to score on. Stage 5 keeps
# stride 16 (as the demo classifier's arch), so the two backbone levels are 4x4 maps; the learning
# rate decays to almost zero so that BatchNorm's running statistics catch up with the weights by
# the end. The backbone is seeded from a classifier of the same arch through model.pretrained.
ARCH = [
    ["mobilenetv2", 16, 1, 1, 2],
    ["mobilenetv2", 24, 2, 1, 2],
    ["mobilevit", 32, 2, 32, 64, 1, 2],
    ["mobilevit", 48, 2, 48, 96, 1, 2],
    ["mobilevit", 64, 1, 64, 128, 1, 2],
]
CONFIG = """
task = "detection"
model = dict(arch={arch!r}, num_classes=2, pretrained={pretrained!r}, pretrained_keys="backbone")
detection = dict(image_size=64, random_crop=False, photometric_distort=False, detections_per_img=20)
data = dict(kind="coco", root={root!r}, train_split="images/train", val_split="images/val",
            train_annotation="annotations/instances_train.json", val_annotation="annotations/instances_val.json",
            batch_size=8, val_batch_size=16, num_workers=0, horizontal_flip=False)
optim = dict(lr=0.01, clip_grad=5.0)
schedule = dict(epochs=8, warmup_iters=2, warmup_start_lr=0.001, min_lr=0.00001)
train = dict(work_dir={work_dir!r}, amp="none", ema=False, log_interval=8, progress_bar=False, val_interval=8,
             checkpoint_steps=0, keep_checkpoints=1)
"""


def write_digit_boxes(root: Path) -> Path:
    spec = importlib.util.spec_from_file_location("demo_detection", ROOT / "tools" / "demo_detection.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write(root, train_images=32, val_images=16, canvas=64, digits=(0,), digit_sizes=(28, 40))


@pytest.mark.slow
def test_detection_trains_resumes_exactly_tests_predicts_and_exports(tmp_path, capsys, monkeypatch):
    root = write_digit_boxes(tmp_path / "data")
    classifier = tmp_path / "classifier.pth"
    torch.save(build_classifier(ARCH, num_classes=10).state_dict(), classifier)
    settings = dict(arch=ARCH, root=str(root), pretrained=str(classifier))
    whole_config = tmp_path / "whole.py"
    whole_config.write_text(CONFIG.format(work_dir=str(tmp_path / "whole"), **settings))
    stopped_config = tmp_path / "stopped.py"
    stopped_config.write_text(CONFIG.format(work_dir=str(tmp_path / "stopped"), **settings))

    whole = trainer.main(load_config(whole_config))
    log = (tmp_path / "whole" / "train.log").read_text()
    assert f"pretrained: loaded 195 of the model's 286 tensors from {classifier}" in log
    assert "backbone.conv_1x1_exp.conv.weight" in log  # the classifier's, skipped and named
    trainer.main(load_config(stopped_config, ["train.max_steps=5"]))
    assert torch.load(tmp_path / "stopped" / "latest.pth", weights_only=True)["step"] == 5
    resumed = trainer.main(load_config(stopped_config))
    for key, value in whole.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=1e-5, atol=1e-6, msg=key)

    report_path = tmp_path / "report.json"
    metrics = tester.main(load_config(whole_config), tmp_path / "whole" / "latest.pth", report_path)
    assert metrics.count == 16
    # on the held-out canvases, measured 4.7 and 16.1: half of that still means the run learnt boxes
    assert metrics.map > 2.0 and metrics.ap50 > 8.0
    report = json.loads(report_path.read_text())
    assert [entry["class"] for entry in report["per_class"]] == ["0"]

    image = str(root / "images" / "val" / "0000.png")
    config_json = str(tmp_path / "whole" / "config.json")
    checkpoint = str(tmp_path / "whole" / "latest.pth")
    assert (
        cli(
            [
                "predict",
                image,
                "--model",
                config_json,
                "--checkpoint",
                checkpoint,
                "--score-threshold",
                "0.2",
                "--out-dir",
                str(tmp_path / "drawn"),
                "--json",
            ]
        )
        == 0
    )
    assert (tmp_path / "drawn" / "0000_detections.png").is_file()

    # OpenVINO, through the command line: the file's detections are the checkpoint's
    common = [
        "predict",
        image,
        "--model",
        config_json,
        "--score-threshold",
        "0.2",
        "--json",
        "--out-dir",
        str(tmp_path),
    ]
    capsys.readouterr()
    assert cli([*common, "--checkpoint", checkpoint]) == 0
    expected = json.loads(capsys.readouterr().out)["detections"]
    xml = tmp_path / "detector.xml"
    assert cli(["export", config_json, "--checkpoint", checkpoint, "--format", "openvino", "--output", str(xml)]) == 0
    assert "decode with mobilevit.export.ExportedDetector" in capsys.readouterr().out
    # the file is loaded once, as a detector: the classifiers' logits runner is not built
    classifier_runner = lambda path: pytest.fail(f"{path} was loaded as a classifier")  # noqa: E731
    monkeypatch.setitem(RUNTIMES, "openvino", (RUNTIMES["openvino"][0], classifier_runner))
    assert cli([*common, "--checkpoint", str(xml), "--backend", "openvino"]) == 0
    found = json.loads(capsys.readouterr().out)["detections"]
    assert [item["label"] for item in found] == [item["label"] for item in expected]
    for ours, theirs in zip(found, expected):
        assert ours["box"] == pytest.approx(theirs["box"], abs=0.05) and ours["score"] == pytest.approx(
            theirs["score"], abs=1e-4
        )

    onnx_path = tmp_path / "detector.onnx"
    assert cli(["export", config_json, "--checkpoint", checkpoint, "--output", str(onnx_path)]) == 0
    assert (
        cli(
            [
                "predict",
                image,
                "--model",
                config_json,
                "--checkpoint",
                str(onnx_path),
                "--backend",
                "onnxruntime",
                "--score-threshold",
                "0.2",
                "--out-dir",
                str(tmp_path / "drawn_onnx"),
            ]
        )
        == 0
    )
