"""The segmentation demo's data: scikit-learn's handwritten digit scans (the demo's digits, see
tools/demo_digits.py) pasted onto larger noisy canvases, with their masks, in the ``pairs``
layout: <root>/images/{train,val}/<n>.png and <root>/masks/{train,val}/<n>.png.

Class 0 is the background and class i + 1 the i-th digit pasted (all ten by default); the soft rim of each stroke is 255 (not
scored), as PASCAL VOC marks its object boundaries. Nothing is downloaded.

    python tools/demo_segmentation.py data/digit_scenes --train 64 --val 20 --size 32 --digits 0 --digit-side 0.4 0.7
    mobilevit train configs/deeplabv3/deeplabv3_mobilevit-tiny_1xb8_digit-scenes.py
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from mobilevit.data.segmentation import IGNORE_INDEX, save_palette_mask


def paste_digits(
    scans: np.ndarray,
    labels: np.ndarray,
    rng: np.random.Generator,
    size: int,
    digits_per_image: tuple[int, int],
    digit_side: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """One canvas (size, size, 3) uint8 with a few digit scans pasted on it (each a square of a
    side drawn from ``digit_side`` times ``size``), and its mask."""
    image = rng.integers(0, 70, (size, size, 3)).astype(np.float64)
    image += rng.integers(0, 50, 3)  # a background tint per image
    mask = np.zeros((size, size), np.uint8)
    for _ in range(rng.integers(digits_per_image[0], digits_per_image[1] + 1)):
        index = rng.integers(len(labels))
        side = int(rng.integers(round(size * digit_side[0]), round(size * digit_side[1]) + 1))
        scan = Image.fromarray((scans[index] * (255 / 16)).astype(np.uint8)).resize((side, side), Image.BILINEAR)
        ink = np.asarray(scan, np.float64) / 255.0
        top, left = (int(value) for value in rng.integers(0, size - side + 1, 2))
        colour = rng.integers(150, 256, 3)
        window = image[top : top + side, left : left + side]
        window[:] = window * (1 - ink[..., None]) + colour * ink[..., None]
        region = mask[top : top + side, left : left + side]
        region[ink > 0.25] = IGNORE_INDEX  # the soft rim of the stroke
        region[ink > 0.5] = labels[index] + 1
    return image.clip(0, 255).astype(np.uint8), mask


def write(
    root: Path,
    train: int = 400,
    val: int = 100,
    size: int = 64,
    digits: Sequence[int] = range(10),
    digits_per_image: tuple[int, int] = (1, 3),
    digit_side: tuple[float, float] = (0.25, 0.5),
    seed: int = 0,
) -> None:
    """Write ``train`` and ``val`` canvases of ``size`` pixels holding the scans of ``digits``."""
    from sklearn.datasets import load_digits

    scans = load_digits()
    keep = np.isin(scans.target, list(digits))
    images, labels = scans.images[keep], np.searchsorted(sorted(digits), scans.target[keep])
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    held_out = order[: len(order) // 5]  # val canvases use scans that training never saw
    pools = {"train": order[len(order) // 5 :], "val": held_out}
    for split, count in (("train", train), ("val", val)):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "masks" / split).mkdir(parents=True, exist_ok=True)
        pool = pools[split]
        for number in range(count):
            image, mask = paste_digits(images[pool], labels[pool], rng, size, digits_per_image, digit_side)
            Image.fromarray(image).save(root / "images" / split / f"{number:04d}.png")
            save_palette_mask(mask, root / "masks" / split / f"{number:04d}.png")
        print(f"{root}/{{images,masks}}/{split}: {count} canvases of {size}x{size}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path)
    parser.add_argument("--train", type=int, default=400, help="training canvases (default 400)")
    parser.add_argument("--val", type=int, default=100, help="validation canvases (default 100)")
    parser.add_argument("--size", type=int, default=64, help="canvas side in pixels (default 64)")
    parser.add_argument(
        "--digits",
        type=int,
        nargs="+",
        default=list(range(10)),
        help="the digits pasted, class d + 1 the d-th of them (default 0-9)",
    )
    parser.add_argument(
        "--digit-side",
        type=float,
        nargs=2,
        default=(0.25, 0.5),
        metavar=("LOW", "HIGH"),
        help="a pasted digit's side as a fraction of the canvas (default 0.25 0.5)",
    )
    args = parser.parse_args()
    write(args.root, args.train, args.val, args.size, args.digits, digit_side=tuple(args.digit_side))
    return 0


if __name__ == "__main__":
    sys.exit(main())
