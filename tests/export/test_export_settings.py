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
