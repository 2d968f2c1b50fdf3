"""A MobileViT v2 classifier exported to ONNX gives PyTorch's logits, at sizes whose stage maps are odd too."""

import pytest
import torch

from mobilevit.export import export_model
from mobilevit.models import build_classifier

onnxruntime = pytest.importorskip("onnxruntime")


def test_a_dynamic_v2_onnx_file_serves_every_size(tmp_path):
    model = build_classifier("v2_050", num_classes=10).eval()
    path = export_model(model, tmp_path / "v2.onnx", export_format="onnx", height=256, width=256, dynamic=True)
    session = onnxruntime.InferenceSession(str(path))
    name = session.get_inputs()[0].name
    for height, width in ((256, 256), (224, 160)):  # 224: a 7x7 last map, resized up inside the file too
        x = torch.rand(2, 3, height, width)
        with torch.no_grad():
            expected = model(x)
        (logits,) = session.run(None, {name: x.numpy()})
        assert (torch.from_numpy(logits) - expected).abs().max() <= 1e-4 * expected.abs().max()
