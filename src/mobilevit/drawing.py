"""Detection pictures that can be read: one colour per class, every label legible.

Each box is drawn in its class's colour; its label (class name and score) sits on a filled band of
that colour, inside the box's top edge where the box is tall enough, else just above it. A label
that would cover one already drawn moves to the next free place (above, inside, below the box),
so the labels of overlapping boxes do not print over each other.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Twenty well-separated colours (Kelly's list without white and black): class k takes PALETTE[k % 20].
PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75),
    (60, 180, 75),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 212),
    (0, 128, 128),
    (220, 190, 255),
    (170, 110, 40),
    (255, 225, 25),
    (128, 0, 0),
    (170, 255, 195),
    (128, 128, 0),
    (255, 215, 180),
    (0, 0, 128),
    (128, 128, 128),
    (255, 250, 200),
)

Rectangle = tuple[float, float, float, float]


def class_colour(label: int) -> tuple[int, int, int]:
    """The colour of class ``label``: the same in every picture."""
    return PALETTE[int(label) % len(PALETTE)]


def draw_boxes(
    rgb: np.ndarray,
    boxes: np.ndarray,
    labels: Sequence[int],
    names: Sequence[str],
    scores: Sequence[float],
) -> Image.Image:
    """``rgb`` (H, W, 3 uint8) with each box (x1, y1, x2, y2) in its class's colour and labelled
    ``name score``; the best-scoring boxes (given first) get the first places for their labels."""
    image = Image.fromarray(rgb)
    draw = ImageDraw.Draw(image)
    height, width = rgb.shape[:2]
    line_width = max(1, round(max(height, width) / 300))
    font = _font(max(10, round(max(height, width) / 50)))
    for box, label in zip(boxes, labels):  # every box first, so that no edge crosses a label
        draw.rectangle(tuple(float(value) for value in box), outline=class_colour(label), width=line_width)
    placed: list[Rectangle] = []
    for box, label, name, score in zip(boxes, labels, names, scores):
        colour = class_colour(label)
        text = f"{name} {score:.2f}"
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        size = (right - left + 6, bottom - top + 4)
        band = _free_place(tuple(float(value) for value in box), size, placed, (width, height))
        placed.append(band)
        draw.rectangle(band, fill=colour)
        draw.text((band[0] + 3 - left, band[1] + 2 - top), text, fill=_text_colour(colour), font=font)
    return image


def _free_place(
    box: Rectangle, size: tuple[float, float], placed: Sequence[Rectangle], image_size: tuple[int, int]
) -> Rectangle:
    """Where a label of ``size`` goes for ``box``: the first of inside-top, above, inside-bottom and
    below that stays in the image and covers no label already placed; else the one covering least."""
    x1, y1, x2, y2 = box
    label_width, label_height = size
    image_width, image_height = image_size
    left = min(max(x1, 0.0), max(image_width - label_width, 0.0))
    candidates = [y1, y1 - label_height, y2 - label_height, y2]
    bands = [
        (left, top, left + label_width, top + label_height)
        for top in (min(max(top, 0.0), max(image_height - label_height, 0.0)) for top in candidates)
    ]
    return min(bands, key=lambda band: sum(_overlap(band, other) for other in placed))


def _overlap(first: Rectangle, second: Rectangle) -> float:
    width = min(first[2], second[2]) - max(first[0], second[0])
    height = min(first[3], second[3]) - max(first[1], second[1])
    return max(width, 0.0) * max(height, 0.0)


def _text_colour(background: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black on light colours, white on dark ones (by perceived brightness)."""
    red, green, blue = background
    return (0, 0, 0) if 0.299 * red + 0.587 * green + 0.114 * blue > 150 else (255, 255, 255)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow before 10.1: the fixed bitmap font
        return ImageFont.load_default()
