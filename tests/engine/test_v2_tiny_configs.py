"""The tiny MobileViT v2 configs (classification, segmentation with the auxiliary head, detection
seeded from the classifier), on data made in the test: each trains a few steps, resumes to the
weights of an uninterrupted run, tests, and exports to ONNX with the checkpoint's outputs."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

import mobilevit
from mobilevit.cli import main as cli
from mobilevit.config import load_config
from mobilevit.engine import tester, trainer

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("sklearn")
onnxruntime = pytest.importorskip("onnxruntime")


def tool(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_stop_and_resume(config_path, overrides, tmp_path, steps=2):
    """Train ``steps`` steps at once and in two runs (stopped after ``steps - 1``); the weights must agree."""
    whole = trainer.main(
        load_config(config_path, [*overrides, f"train.work_dir={tmp_path / 'whole'}", f"train.max_steps={steps}"])
    )
    stopped = [*overrides, f"train.work_dir={tmp_path / 'run'}"]
    trainer.main(load_config(config_path, [*stopped, f"train.max_steps={steps - 1}"]))
    resumed = trainer.main(load_config(config_path, [*stopped, f"train.max_steps={steps}"]))
    for key, value in whole.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=1e-5, atol=1e-6, msg=key)
    return resumed, tmp_path / "run"


def export_matches(work, tmp_path, x):
    """ONNX export of the run's checkpoint gives its outputs on ``x``."""
    onnx_path = tmp_path / "model.onnx"
    assert (
        cli(["export", str(work / "config.json"), "--checkpoint", str(work / "latest.pth"), "--output", str(onnx_path)])
        == 0
    )
    model = mobilevit.init_model(work / "config.json", work / "latest.pth")
    with torch.no_grad():
        expected = model(x)
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (found,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})[:1]
    assert np.abs(found - expected.numpy()).max() <= 1e-4 * max(1.0, float(expected.abs().max()))
    return model


COMMON = ["train.progress_bar=False", "data.num_workers=0", "train.log_interval=1"]


@pytest.mark.slow
def test_the_tiny_v2_configs_train_resume_test_and_export(tmp_path):
    # classification: the digits at 32 pixels, a few images per class
    digits = tmp_path / "digits"
    tool("demo_digits").write(digits, held_out=20, train_per_class=4)
    classifier = ROOT / "configs/mobilevitv2/mobilevitv2-050_1xb64_digits.py"
    options = [*COMMON, f"data.root={digits}", "data.batch_size=8", "data.val_batch_size=10"]
    model, work = train_stop_and_resume(classifier, options, tmp_path / "classification")
    metrics = tester.main(load_config(work / "config.json"), work / "latest.pth", tmp_path / "classification.json")
    assert metrics.count == 20
    loaded = export_matches(work, tmp_path / "classification", torch.rand(2, 3, 32, 32))
    assert loaded.preprocessing.channel_order == "RGB" and loaded.preprocessing.interpolation == "bicubic"
    classifier_checkpoint = work / "latest.pth"

    # segmentation: DeepLabv3 with the auxiliary head in training, none in the files it writes
    scenes = tmp_path / "scenes"
    tool("demo_segmentation").write(
        scenes, train=16, val=4, size=64, digits=(0,), digits_per_image=(1, 2), digit_side=(0.3, 0.6)
    )
    segmenter = ROOT / "configs/deeplabv3/deeplabv3_mobilevitv2-050_1xb8_digit-scenes.py"
    model, work = train_stop_and_resume(
        segmenter,
        [*COMMON, f"data.root={scenes}", "data.batch_size=4", "data.val_batch_size=4"],
        tmp_path / "segmentation",
    )
    assert model.aux_head is not None
    assert any(key.startswith("aux_head.") for key in torch.load(work / "latest.pth", weights_only=True)["model"])
    metrics = tester.main(load_config(work / "config.json"), work / "latest.pth", tmp_path / "segmentation.json")
    assert metrics.count == 4
    loaded = export_matches(work, tmp_path / "segmentation", torch.rand(1, 3, 64, 64))
    assert loaded.aux_head is None

    # detection: the backbone seeded from the classifier above
    boxes = tool("demo_detection").write(tmp_path / "boxes", train_images=16, val_images=4, digits=(0, 1, 2, 3))
    detector = ROOT / "configs/ssdlite/ssdlite_mobilevitv2-050_1xb16_digit-boxes.py"
    options = [*COMMON, f"data.root={boxes}", f"model.pretrained={classifier_checkpoint}", "data.batch_size=4"]
    model, work = train_stop_and_resume(detector, options, tmp_path / "detection")
    assert "pretrained: loaded" in (work / "train.log").read_text()
    metrics = tester.main(load_config(work / "config.json"), work / "latest.pth", tmp_path / "detection.json")
    assert metrics.count == 4
    assert (
        cli(
            [
                "export",
                str(work / "config.json"),
                "--checkpoint",
                str(work / "latest.pth"),
                "--output",
                str(tmp_path / "detector.onnx"),
            ]
        )
        == 0
    )
