"""Reading images as users have them: any common format and mode, EXIF orientation applied."""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

# Larger images are refused as likely decompression bombs (PIL's own default limit).
MAX_IMAGE_PIXELS = 89_478_485
# Images longer than this many times their width (or wider than tall) are refused: a tiny file of
# 2000x1 pixels would otherwise grow to 576000x288 (2 GB as float) when its short edge is resized.
MAX_ASPECT_RATIO = 50
# The most pixels resizing an image's short edge may produce (4096x4096: 200 MB as float RGB).
MAX_RESIZED_PIXELS = 4096 * 4096
# The EXIF tag of an image's orientation, and its values that turn the image by 90 degrees
# (swapping width and height).
EXIF_ORIENTATION = 0x0112
TRANSPOSING_ORIENTATIONS = (5, 6, 7, 8)


class ImageReadError(ValueError):
    """An image that cannot be read or used: missing, truncated, not an image, too large or too thin."""


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file to an (H, W, 3) uint8 RGB array.

    Grayscale, palette, RGBA, CMYK and 16-bit images are converted to RGB; the EXIF
    orientation is applied. Errors name the file.
    """
    with open_image(path) as image:
        if image.format == "JPEG":
            image.draft("RGB", image.size)  # decode straight to RGB, skipping a conversion
        return to_rgb_array(ImageOps.exif_transpose(image))


@contextlib.contextmanager
def open_image(path: str | os.PathLike) -> Iterator[Image.Image]:
    """Open an image file lazily (its header only) for code that decodes it, perhaps at reduced size.

    Errors while opening or decoding inside the ``with`` block raise :class:`ImageReadError` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"image not found: {path}")
    with _open_checked(path, str(path)) as image:
        yield image


@contextlib.contextmanager
def _open_checked(source: Path | io.BytesIO, name: str) -> Iterator[Image.Image]:
    """Open ``source`` with PIL, refusing decompression bombs; errors become ImageReadError naming ``name``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                _check_size(image, name)
                yield image
    except ImageReadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageReadError(f"refusing {name}: {error}") from None
    except UnidentifiedImageError:
        raise ImageReadError(f"not an image file (or an unsupported format): {name}") from None
    except (OSError, SyntaxError, ValueError) as error:  # truncated or corrupt data
        raise ImageReadError(f"cannot decode image {name}: {error}") from None


def _check_size(image: Image.Image, name: str) -> None:
    check_image_size(*image.size, name)


def check_image_size(width: int, height: int, name: str) -> None:
    """Refuse an image of more than :data:`MAX_IMAGE_PIXELS` pixels or an aspect ratio beyond
    :data:`MAX_ASPECT_RATIO` (either way), with :class:`ImageReadError` naming ``name``."""
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageReadError(
            f"refusing {name}: {width}x{height} pixels exceeds the limit of {MAX_IMAGE_PIXELS} "
            "(a possible decompression bomb)"
        )
    if width < 1 or height < 1:
        raise ImageReadError(f"refusing {name}: it has no pixels ({width}x{height})")
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise ImageReadError(
            f"refusing {name}: {width}x{height} pixels is an aspect ratio beyond the limit of {MAX_ASPECT_RATIO}:1"
        )


def check_resized_size(width: int, height: int, name: str) -> None:
    """Refuse to resize an image to ``width`` x ``height`` when that exceeds :data:`MAX_RESIZED_PIXELS`."""
    if width * height > MAX_RESIZED_PIXELS:
        raise ImageReadError(
            f"refusing {name}: resizing it would make {width}x{height} pixels, more than the limit of "
            f"{MAX_RESIZED_PIXELS}"
        )


def upright_size(image: Image.Image) -> tuple[int, int]:
    """(width, height) of an opened image once its EXIF orientation is applied, from its header alone."""
    turned = image.getexif().get(EXIF_ORIENTATION, 1) in TRANSPOSING_ORIENTATIONS
    return (image.height, image.width) if turned else image.size


def to_rgb_array(image: Image.Image) -> np.ndarray:
    """An (H, W, 3) uint8 RGB array from a PIL image of any mode."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        image = Image.fromarray(np.clip(array / 256.0, 0, 255).astype(np.uint8))
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image)


def decode_jpeg_rgb(source: str | os.PathLike | bytes) -> torch.Tensor:
    """Decode a JPEG file (or its bytes) to a (3, H, W) uint8 RGB tensor with torchvision's decoder.

    About 1.4 times as fast as PIL's on ImageNet-sized photos, crop included
    (``benchmarks/bench_decode.py``). Grayscale and CMYK JPEGs come out as RGB and the EXIF
    orientation is applied, as :func:`read_image` does; the pixel values may differ from PIL's by
    the rounding of another decoder build. Errors name the file.
    """
    if isinstance(source, (bytes, bytearray)):
        data, name = bytes(source), "JPEG data"
    else:
        path = Path(source)
        if not path.is_file():
            raise ImageReadError(f"image not found: {path}")
        data, name = path.read_bytes(), str(path)
    with _open_checked(io.BytesIO(data), name) as header:  # the header only: format and size
        image_format = header.format
    if image_format != "JPEG":
        raise ImageReadError(f"{name} is a {image_format} image, not a JPEG: read it with read_image()")
    from torchvision.io import ImageReadMode, decode_jpeg  # torchvision takes 2 s to import: only when used

    try:
        return decode_jpeg(
            torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=ImageReadMode.RGB, apply_exif_orientation=True
        )
    except RuntimeError as error:  # truncated or corrupt data
        raise ImageReadError(f"cannot decode JPEG {name}: {error}") from None
