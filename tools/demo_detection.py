"""A small detection data set to try SSDLite-MobileViT on a laptop CPU.

Canvases of noisy paper with one to three of scikit-learn's bundled handwritten digit scans
(real 8x8 scans of 43 writers, shipped in the package: nothing is downloaded) pasted at random
places and sizes, written as a COCO data set: <root>/images/{train,val}/<n>.png and
<root>/annotations/instances_{train,val}.json, one category per digit.

    python tools/demo_detection.py data/digit_boxes
    mobilevit train configs/ssdlite/ssdlite_mobilevit-tiny_1xb16_digit-boxes.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image


def write(
    root: Path,
    train_images: int = 1000,
    val_images: int = 200,
    canvas: int = 160,
    digits: tuple[int, ...] = (0, 1, 2, 3),
    digit_sizes: tuple[int, int] = (24, 56),
    seed: int = 0,
) -> Path:
    """Write the data set under ``root`` and return it: COCO files whose category ids are the
    digits plus one (0 is no valid COCO id), so labels map back to ids as on COCO itself."""
    from sklearn.datasets import load_digits

    scans = load_digits()
    pool = {digit: np.flatnonzero(scans.target == digit) for digit in digits}
    rng = np.random.default_rng(seed)
    for split, count in (("train", train_images), ("val", val_images)):
        folder = root / "images" / split
        folder.mkdir(parents=True, exist_ok=True)
        images, annotations = [], []
        for number in range(count):
            paper = rng.normal(200, 12, (canvas, canvas)).clip(0, 255)
            for _ in range(int(rng.integers(1, 4))):
                digit = int(rng.choice(digits))
                scan = scans.images[int(rng.choice(pool[digit]))] / 16.0  # ink 0-1
                size = int(rng.integers(digit_sizes[0], digit_sizes[1] + 1))
                ink = (
                    np.asarray(
                        Image.fromarray((scan * 255).astype(np.uint8)).resize((size, size), Image.Resampling.BILINEAR)
                    )
                    / 255.0
                )
                x, y = (int(value) for value in rng.integers(0, canvas - size + 1, 2))
                paper[y : y + size, x : x + size] *= 1.0 - 0.85 * ink
                rows, columns = np.nonzero(ink > 0.25)  # the box of the ink, not of the scan's margin
                box = [
                    x + int(columns.min()),
                    y + int(rows.min()),
                    int(columns.max() - columns.min() + 1),
                    int(rows.max() - rows.min() + 1),
                ]
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": number,
                        "category_id": digit + 1,
                        "bbox": box,
                        "area": box[2] * box[3],
                        "iscrowd": 0,
                    }
                )
            name = f"{number:04d}.png"
            Image.fromarray(paper.astype(np.uint8)).convert("RGB").save(folder / name)
            images.append({"id": number, "file_name": name, "width": canvas, "height": canvas})
        categories = [{"id": digit + 1, "name": str(digit)} for digit in digits]
        (root / "annotations").mkdir(parents=True, exist_ok=True)
        content = {"images": images, "annotations": annotations, "categories": categories}
        (root / "annotations" / f"instances_{split}.json").write_text(json.dumps(content))
        print(f"{folder}: {count} images, {sum(a['image_id'] < count for a in annotations)} boxes")
    return root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path)
    parser.add_argument("--train-images", type=int, default=1000)
    parser.add_argument("--val-images", type=int, default=200)
    parser.add_argument("--canvas", type=int, default=160, help="canvas side in pixels")
    parser.add_argument(
        "--digit-sizes",
        type=int,
        nargs=2,
        default=(24, 56),
        metavar=("MIN", "MAX"),
        help="the range of a pasted scan's side in pixels",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not 8 <= args.digit_sizes[0] <= args.digit_sizes[1] <= args.canvas:
        parser.error(f"--digit-sizes must be 8 <= MIN <= MAX <= --canvas ({args.canvas}), got {args.digit_sizes}")
    write(
        args.root, args.train_images, args.val_images, args.canvas, digit_sizes=tuple(args.digit_sizes), seed=args.seed
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
