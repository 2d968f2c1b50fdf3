import numpy as np
import pytest
import torch
from PIL import Image

from mobilevit.data import EvalTransform, ImageReadError, read_image
from mobilevit.data.transforms import Preprocessing


def test_eval_transform_resizes_crops_and_flips_to_bgr():
    rgb = np.zeros((300, 400, 3), dtype=np.uint8)
    rgb[..., 0] = 255  # pure red
    out = EvalTransform(Preprocessing())(rgb)
    assert out.shape == (3, 256, 256)
    assert torch.equal(out[2], torch.ones(256, 256)) and out[:2].abs().max() == 0  # red is last in BGR


def test_short_edge_resize_keeps_aspect_ratio():
    rgb = np.random.default_rng(0).integers(0, 256, (200, 500, 3), dtype=np.uint8)
    transform = EvalTransform(Preprocessing(resize_short=100, crop_size=100, channel_order="RGB", std=(1.0, 1.0, 1.0)))
    out = transform(rgb)
    assert out.shape == (3, 100, 100) and out.max() <= 255


def test_resize_without_keeping_the_aspect_ratio_takes_the_whole_image():
    rgb = np.random.default_rng(0).integers(0, 256, (300, 200, 3), dtype=np.uint8)
    transform = EvalTransform(
        Preprocessing(crop_size=64, keep_aspect_ratio=False, channel_order="RGB", std=(1.0, 1.0, 1.0))
    )
    image = torch.from_numpy(rgb).permute(2, 0, 1)[None].float()
    expected = torch.nn.functional.interpolate(image, size=(64, 64), mode="bilinear", align_corners=False)
    assert torch.equal(transform(rgb), expected[0].round().clamp(0, 255))


def test_read_image_modes(tmp_path):
    for mode in ("L", "P", "RGBA", "CMYK", "RGB"):
        path = tmp_path / f"{mode}.png" if mode != "CMYK" else tmp_path / "cmyk.jpg"
        Image.new(mode, (20, 10)).save(path)
        assert read_image(path).shape == (10, 20, 3)


def test_read_image_errors_name_the_file(tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    with pytest.raises(ImageReadError, match="notes.jpg"):
        read_image(bad)
    with pytest.raises(ImageReadError, match="missing.png"):
        read_image(tmp_path / "missing.png")
