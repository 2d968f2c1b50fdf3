"""Images as users have them: formats, modes, EXIF orientation, and the files that must be refused."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from mobilevit.data import ImageReadError, read_image
from mobilevit.data import image as image_module

RED, BLUE = (220, 30, 30), (30, 30, 220)


def halves(width=40, height=20):
    """Left half red, right half blue."""
    array = np.empty((height, width, 3), dtype=np.uint8)
    array[:, : width // 2], array[:, width // 2 :] = RED, BLUE
    return Image.fromarray(array)


@pytest.mark.parametrize("suffix, lossless", [(".jpg", False), (".png", True), (".webp", True), (".bmp", True)])
def test_formats(tmp_path, suffix, lossless):
    path = tmp_path / f"halves{suffix}"
    halves().save(path, **({"lossless": True} if suffix == ".webp" else {}))
    rgb = read_image(path)
    assert rgb.shape == (20, 40, 3) and rgb.dtype == np.uint8
    tolerance = 0 if lossless else 12
    assert np.abs(rgb[10, 5].astype(int) - RED).max() <= tolerance
    assert np.abs(rgb[10, 35].astype(int) - BLUE).max() <= tolerance


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "CMYK", "I;16"])
def test_modes_become_rgb(tmp_path, mode):
    image = (
        halves().convert(mode) if mode not in ("I;16",) else Image.fromarray(np.full((20, 40), 40000, dtype=np.uint16))
    )
    path = tmp_path / ("image.jpg" if mode == "CMYK" else "image.png")
    image.save(path)
    rgb = read_image(path)
    assert rgb.shape == (20, 40, 3) and rgb.dtype == np.uint8
    if mode in ("L", "LA", "I;16"):
        assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    if mode == "I;16":
        assert rgb[0, 0, 0] == 40000 // 256


def test_exif_orientation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display after turning 90 degrees clockwise
    halves().save(tmp_path / "phone.jpg", exif=exif, quality=95)
    rgb = read_image(tmp_path / "phone.jpg").astype(int)
    assert rgb.shape == (40, 20, 3)
    assert np.abs(rgb[5, 10] - RED).max() < 20 and np.abs(rgb[35, 10] - BLUE).max() < 20  # left half on top


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_a_truncated_image_names_the_file(tmp_path, suffix):
    path = tmp_path / f"photo{suffix}"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ImageReadError, match=f"photo{suffix}"):
        read_image(path)


def test_a_file_that_is_not_an_image_names_the_file(tmp_path):
    (tmp_path / "notes.png").write_text("hello")
    with pytest.raises(ImageReadError, match="not an image file .*notes.png"):
        read_image(tmp_path / "notes.png")


def test_a_large_image_is_refused_under_the_limit(tmp_path, monkeypatch):
    halves().save(tmp_path / "big.png")
    monkeypatch.setattr(image_module, "MAX_IMAGE_PIXELS", 799)
    with pytest.raises(ImageReadError, match="refusing .*big.png: 40x20 pixels exceeds the limit of 799"):
        read_image(tmp_path / "big.png")


def test_a_png_header_claiming_a_huge_size_is_refused(tmp_path):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)  # 10^10 RGB pixels
    (tmp_path / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    with pytest.raises(ImageReadError, match="refusing .*bomb.png.*decompression bomb"):
        read_image(tmp_path / "bomb.png")


def test_a_tiny_thin_image_is_refused_before_its_resize(tmp_path):
    Image.new("RGB", (2000, 1)).save(tmp_path / "thin.png")  # 88 bytes; 576000x288 once resized
    assert (tmp_path / "thin.png").stat().st_size < 200
    with pytest.raises(
        ImageReadError,
        match=r"refusing .*thin.png: 2000x1 pixels is an aspect ratio beyond the "
        r"limit of 50:1",
    ):
        read_image(tmp_path / "thin.png")
    Image.new("RGB", (50, 1)).save(tmp_path / "limit.png")
    assert read_image(tmp_path / "limit.png").shape == (1, 50, 3)
