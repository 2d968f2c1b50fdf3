"""decode_jpeg_rgb: torchvision's JPEG decoder behind the checks of read_image."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from mobilevit.data.image import ImageReadError, decode_jpeg_rgb, read_image


def photo(width=120, height=90):
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 2, y * 2, (x + y) % 256], axis=-1).astype(np.uint8)


def test_matches_read_image_for_a_file_and_for_bytes(tmp_path):
    path = tmp_path / "photo.jpg"
    Image.fromarray(photo()).save(path, quality=95)
    expected = torch.from_numpy(read_image(path)).permute(2, 0, 1)
    for source in (path, str(path), path.read_bytes()):
        decoded = decode_jpeg_rgb(source)
        assert decoded.dtype == torch.uint8 and decoded.shape == (3, 90, 120)
        assert (decoded.int() - expected.int()).abs().max() <= 3  # decoder builds round differently


def test_grayscale_and_exif_orientation(tmp_path):
    gray = tmp_path / "gray.jpg"
    Image.fromarray(photo()[..., 0]).save(gray)
    decoded = decode_jpeg_rgb(gray)
    assert decoded.shape == (3, 90, 120) and torch.equal(decoded[0], decoded[2])
    rotated = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated by 90 degrees
    Image.fromarray(photo()).save(rotated, exif=exif)
    assert decode_jpeg_rgb(rotated).shape == (3, 120, 90)
    assert read_image(rotated).shape == (120, 90, 3)


def test_errors_name_the_file(tmp_path):
    with pytest.raises(ImageReadError, match="image not found"):
        decode_jpeg_rgb(tmp_path / "missing.jpg")
    png = tmp_path / "image.png"
    Image.fromarray(photo()).save(png)
    with pytest.raises(ImageReadError, match="PNG image, not a JPEG"):
        decode_jpeg_rgb(png)
    buffer = io.BytesIO()
    Image.fromarray(photo()).save(buffer, "JPEG")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 3])
    with pytest.raises(ImageReadError, match="truncated.jpg"):
        decode_jpeg_rgb(truncated)
    with pytest.raises(ImageReadError, match="not an image file"):
        decode_jpeg_rgb(b"not a jpeg at all")
