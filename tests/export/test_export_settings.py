"""Export settings are explicit: calibration images alone are no wish to quantize."""

import pytest
import torch

from mobilevit.export import export_from_name, export_model
from mobilevit.models import build_classifier

CONFIG = "configs/mobilevit/mobilevit-xxsmall_8xb128_in1k.py"


def test_calibration_images_without_quantize_are_refused(tmp_path):
    model = build_classifier("xx_small").eval()
    with pytest.raises(ValueError, match=r"calibration images are for quantize='int8'"):
        export_model(model, tmp_path / "m.xml", "openvino", 64, 64, calibration=torch.rand(2, 3, 64, 64))
    with pytest.raises(ValueError, match=r"quantize='int8' needs calibration images"):
        export_model(model, tmp_path / "m.xml", "openvino", 64, 64, quantize="int8")
    with pytest.raises(ValueError, match="calibration images are for quantize='int8'"):
        export_from_name(CONFIG, None, "openvino", tmp_path / "m.xml", calibration=tmp_path)
    assert not (tmp_path / "m.xml").exists()


def test_an_export_never_replaces_a_file_unasked_and_its_default_name_says_what_it_is(tmp_path, monkeypatch, capsys):
    from mobilevit.cli import main
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
    assert "pets.onnx exists: pass force=True (--force) to replace it" in capsys.readouterr().err
    assert written.stat().st_mtime_ns == before
    assert main([*command, "--force"]) == 0
