"""Reading images as users have them: any common format and mode, EXIF orientation applied."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Larger images are refused as likely decompression bombs (PIL's own default limit).
MAX_IMAGE_PIXELS = 89_478_485


class ImageReadError(ValueError):
    """An image file that cannot be read: missing, truncated, not an image, or too large."""


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file to an (H, W, 3) uint8 RGB array.

    Grayscale, palette, RGBA, CMYK and 16-bit images are converted to RGB; the EXIF
    orientation is applied. Errors name the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"image not found: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                _check_size(image, path)
                if image.format == "JPEG":
                    image.draft("RGB", image.size)  # decode straight to RGB, skipping a conversion
                image = ImageOps.exif_transpose(image)
                return to_rgb_array(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageReadError(f"refusing {path}: {error}") from None
    except UnidentifiedImageError:
        raise ImageReadError(f"not an image file (or an unsupported format): {path}") from None
    except (OSError, SyntaxError, ValueError) as error:  # truncated or corrupt data
        raise ImageReadError(f"cannot decode image {path}: {error}") from None


def _check_size(image: Image.Image, path: Path) -> None:
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageReadError(
            f"refusing {path}: {width}x{height} pixels exceeds the limit of {MAX_IMAGE_PIXELS} "
            "(a possible decompression bomb)")


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
