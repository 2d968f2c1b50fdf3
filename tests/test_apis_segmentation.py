"""inference_model and `mobilevit predict` on a segmentation model: masks at each image's own size."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

import mobilevit
from mobilevit.cli import main as cli
from mobilevit.config import load_config
from mobilevit.tasks import build_model

CONFIG = """
task = "segmentation"
model = dict(arch=[["mobilenetv2", 8, 1, 1, 2], ["mobilenetv2", 16, 2, 1, 2], ["mobilevit", 24, 2, 24, 48, 1, 2]],
             num_classes=3, aspp_channels=16)
data = dict(kind="pairs", classes=["background", "cat", "dog"],
            preprocessing=dict(resize_short=32, crop_size=32, keep_aspect_ratio=False))
"""


@pytest.fixture(scope="module")
def segmenter(tmp_path_factory):
    folder = tmp_path_factory.mktemp("segmenter")
    (folder / "seg.py").write_text(CONFIG)
    torch.manual_seed(0)
    model = build_model(load_config(folder / "seg.py"))
    with torch.no_grad():
        model.head.classifier.bias.copy_(torch.tensor([0.0, 0.5, -0.5]))
    torch.save(model.state_dict(), folder / "seg.pth")
    return folder / "seg.py", folder / "seg.pth"


def _image(height=37, width=53):
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 4, y * 6, (x + y) * 2], -1).clip(0, 255).astype(np.uint8)


def test_inference_model_gives_the_mask_at_the_image_size(segmenter):
    config, weights = segmenter
    model = mobilevit.init_model(config, weights)
    results = mobilevit.inference_model(model, [_image(), _image(20, 64)], channel_order="RGB")
    for result, size in zip(results, [(37, 53), (20, 64)]):
        assert result["pred_mask"].shape == size and result["pred_scores"].shape == (3, *size)
        np.testing.assert_allclose(result["pred_scores"].sum(axis=0), 1.0, rtol=1e-5)
        assert np.array_equal(result["pred_mask"], result["pred_scores"].argmax(axis=0))
        present = sorted(set(result["pred_mask"].ravel().tolist()))
        assert result["pred_classes"] == [("background", "cat", "dog")[label] for label in present]
    # the protocol: the whole image at 32x32, the logits back to the image's size with nearest
    batch = (
        torch.nn.functional.interpolate(
            torch.from_numpy(_image()).permute(2, 0, 1)[None].float(),
            size=(32, 32),
            mode="bilinear",
            align_corners=False,
        )
        .round()
        .flip(1)
        / 255
    )
    with torch.no_grad():
        logits = torch.nn.functional.interpolate(model(batch), size=(37, 53), mode="nearest")
    assert np.array_equal(results[0]["pred_mask"], logits.argmax(1)[0].numpy())


def test_predict_writes_a_palette_mask_and_an_overlay(segmenter, tmp_path, capsys):
    config, weights = segmenter
    Image.fromarray(_image()).save(tmp_path / "scene.png")
    out = tmp_path / "out"
    assert (
        cli(
            [
                "predict",
                str(tmp_path / "scene.png"),
                "--model",
                str(config),
                "--checkpoint",
                str(weights),
                "--out-dir",
                str(out),
                "--json",
            ]
        )
        == 0
    )
    line = json.loads(capsys.readouterr().out)
    assert sum(entry["share"] for entry in line["classes"]) == pytest.approx(1.0)
    expected = mobilevit.inference_model(mobilevit.init_model(config, weights), str(tmp_path / "scene.png"))
    with Image.open(out / "scene_mask.png") as mask, Image.open(out / "scene_overlay.png") as overlay:
        assert mask.mode == "P" and mask.size == (53, 37) and overlay.size == (53, 37) and overlay.mode == "RGB"
        assert np.array_equal(np.asarray(mask), expected["pred_mask"])
        background = expected["pred_mask"] == 0
        assert np.array_equal(np.asarray(overlay)[background], _image()[background])  # left clear
        assert not np.array_equal(np.asarray(overlay)[~background], _image()[~background])


def test_predict_segments_with_an_exported_file(segmenter, tmp_path, capsys):
    config, _ = segmenter
    torch.manual_seed(0)
    model = build_model(load_config(config))
    with torch.no_grad():  # a mask of two classes, so that the boundary is compared too
        model.head.classifier.weight.mul_(5)
        model.head.classifier.bias.zero_()
    weights = tmp_path / "two_classes.pth"
    torch.save(model.state_dict(), weights)
    Image.fromarray(_image()).save(tmp_path / "scene.png")
    onnx_file = tmp_path / "seg.onnx"
    assert cli(["export", str(config), "--checkpoint", str(weights), "--output", str(onnx_file)]) == 0
    common = ["predict", str(tmp_path / "scene.png"), "--model", str(config), "--json"]
    assert cli([*common, "--checkpoint", str(weights), "--out-dir", str(tmp_path / "pytorch")]) == 0
    arguments = ["--checkpoint", str(onnx_file), "--backend", "onnxruntime", "--out-dir", str(tmp_path / "onnx")]
    assert cli([*common, *arguments]) == 0
    with (
        Image.open(tmp_path / "pytorch" / "scene_mask.png") as expected,
        Image.open(tmp_path / "onnx" / "scene_mask.png") as mask,
    ):
        assert len(np.unique(np.asarray(expected))) == 2
        assert mask.size == (53, 37) and np.array_equal(np.asarray(mask), np.asarray(expected))
