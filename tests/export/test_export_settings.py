"""Export settings are explicit: calibration images alone are no wish to quantize."""

import pytest
import torch

from mobilevit.cli import flag, main
from mobilevit.export import export_from_name, export_model
from mobilevit.models import build_classifier

CONFIG = "configs/mobilevit/mobilevit-xxsmall_8xb128_in1k.py"


def test_calibration_images_without_quantize_are_refused(tmp_path):
    model = build_classifier("xx_small").eval()
    with pytest.raises(ValueError, match=r"calibration images are for quantize='int8'") as refused:
        export_model(model, tmp_path / "m.xml", "openvino", 64, 64, calibration=torch.rand(2, 3, 64, 64))
    assert refused.value.render(flag) == "calibration images are for --quantize int8: pass it, or no --calibration"
    with pytest.raises(ValueError, match=r"quantize='int8' needs calibration images: pass calibration=") as refused:
        export_model(model, tmp_path / "m.xml", "openvino", 64, 64, quantize="int8")
    assert refused.value.render(flag) == "--quantize int8 needs calibration images: pass --calibration"
    with pytest.raises(ValueError, match="calibration images are for quantize='int8'"):
        export_from_name(CONFIG, None, "openvino", tmp_path / "m.xml", calibration=tmp_path)
    assert not (tmp_path / "m.xml").exists()


def test_an_export_never_replaces_a_file_unasked_and_its_default_name_says_what_it_is(tmp_path, monkeypatch, capsys):
    from mobilevit.export import default_output

    assert default_output("work_dirs/demo/best.pth", "openvino", "fp32", "int8").name == "best-openvino-int8.xml"
    assert default_output("best.pth", "openvino", "bf16", None).name == "best-openvino-bf16.xml"
    assert default_output("best.pth", "onnx", "fp32", None).name == "best.onnx"
    from mobilevit.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "pets.safetensors", build_classifier("xx_small", num_classes=3).state_dict(), "xx_small")
    monkeypatch.chdir(tmp_path)
    command = ["export", "pets.safetensors", "--shape", "64", "64"]
    assert main(command) == 0
    written = tmp_path / "pets.onnx"
    before = written.stat().st_mtime_ns
    capsys.readouterr()
    assert main(command) == 2
    assert "pets.onnx exists: pass --force to replace it, or another --output" in capsys.readouterr().err
    with pytest.raises(FileExistsError, match="pets.onnx exists: pass force=True to replace it, or another output="):
        export_from_name("pets.safetensors", None, shape=(64, 64))
    assert written.stat().st_mtime_ns == before
    assert main([*command, "--force"]) == 0


def test_an_export_size_beyond_the_limit_is_refused_before_anything_is_built(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"the export shape=\(300000, 64\) must be at most 4096 pixels, got 300000"):
        export_from_name(CONFIG, None, "onnx", tmp_path / "m.onnx", shape=(300000, 64))
    assert main(["export", CONFIG, "--checkpoint", "x.pth", "--shape", "300000", "64"]) == 2
    assert "the export --shape 300000 64 must be at most 4096 pixels" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()
