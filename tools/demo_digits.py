"""The demo's data and predictions.

The data: scikit-learn's bundled handwritten digits (1,797 real 8x8 scans of digits written by
43 people, shipped inside the package, so nothing is downloaded), upsampled and written as an
ImageNet-style folder tree: <root>/{train,val,test}/<digit>/<n>.png. ``val`` picks the best
checkpoint; ``test`` is held out until the end. ``--digits`` writes some digits only and
``--train-per-class`` keeps only the first few training images of each (the splits stay those of
the whole set, so the held-out images of a digit are the same in every tree).

    python tools/demo_digits.py write data/digits
    python tools/demo_digits.py write data/digits-5to9-10shot --digits 5 6 7 8 9 --train-per-class 10
    python tools/demo_digits.py predict work_dirs/demo/config.json work_dirs/demo/best.pth data/digits/test
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

import mobilevit
from mobilevit.checkpoint import load_weights
from mobilevit.data.datasets import scan_folders


def write(
    root: Path,
    size: int = 32,
    held_out: int = 250,
    seed: int = 0,
    digits_kept: Sequence[int] = tuple(range(10)),
    train_per_class: int = 0,
) -> None:
    """Write the digits as PNGs of ``size`` pixels: ``held_out`` each for test and val, the rest for
    train; only the digits in ``digits_kept``, and at most ``train_per_class`` training images of
    each (0: all)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(seed).permutation(len(digits.target))
    splits = {"test": order[:held_out], "val": order[held_out : 2 * held_out], "train": order[2 * held_out :]}
    splits = {split: indices[np.isin(digits.target[indices], digits_kept)] for split, indices in splits.items()}
    if train_per_class:
        train = splits["train"]
        splits["train"] = np.concatenate(
            [train[digits.target[train] == digit][:train_per_class] for digit in sorted(set(digits_kept))]
        )
    for split, indices in splits.items():
        for index in indices:
            folder = root / split / str(digits.target[index])
            folder.mkdir(parents=True, exist_ok=True)
            pixels = (digits.images[index] * (255 / 16)).round().astype(np.uint8)  # values 0-16 -> 0-255
            Image.fromarray(pixels).resize((size, size), Image.Resampling.BILINEAR).save(folder / f"{index:04d}.png")
        print(f"{root / split}: {len(indices)} images")


def predict(config: Path, checkpoint: Path, image_dir: Path, shown: int, min_accuracy: float) -> bool:
    """Classify every image under ``image_dir`` with ``mobilevit.inference_model``, show a few, and
    check the accuracy; True if it reaches ``min_accuracy`` percent."""
    # the architecture, class names and preprocessing of the run; fused once the weights are in
    model = mobilevit.init_model(config, fuse=False)
    print(f"loaded the {load_weights(model, checkpoint).description}")
    model.fuse()
    images = scan_folders(image_dir, model.class_names)
    paths = [str(path) for path, _ in images.samples]
    results = []
    for start in range(0, len(paths), 64):
        results += mobilevit.inference_model(model, paths[start : start + 64])
    correct = sum(result["pred_label"] == label for result, (_, label) in zip(results, images.samples))
    for index in np.linspace(0, len(paths) - 1, shown).round().astype(int):
        result, (path, label) = results[index], images.samples[index]
        truth = images.class_names[label]
        print(f"  {path}: predicted {result['pred_class']} ({result['pred_score']:.2f}), true {truth}")
    accuracy = 100 * correct / len(paths)
    print(f"held-out accuracy: {accuracy:.1f}% ({correct} of {len(paths)} images; required {min_accuracy}%)")
    return accuracy >= min_accuracy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    write_parser = commands.add_parser("write", help="write the digits in an ImageNet-style folder tree")
    write_parser.add_argument("root", type=Path)
    write_parser.add_argument(
        "--digits",
        type=int,
        nargs="+",
        choices=range(10),
        default=list(range(10)),
        metavar="DIGIT",
        help="the digits written (default all ten)",
    )
    write_parser.add_argument(
        "--train-per-class",
        type=int,
        default=0,
        metavar="N",
        help="keep only N training images of each digit (default: all)",
    )
    predict_parser = commands.add_parser("predict", help="classify held-out images with a trained checkpoint")
    predict_parser.add_argument("config", type=Path)
    predict_parser.add_argument("checkpoint", type=Path)
    predict_parser.add_argument("images", type=Path, help="a folder per class of held-out images")
    predict_parser.add_argument("--shown", type=int, default=8, help="predictions printed (default 8)")
    predict_parser.add_argument("--min-accuracy", type=float, default=0.0, help="fail below this accuracy (percent)")
    args = parser.parse_args()
    if args.command == "write":
        write(args.root, digits_kept=args.digits, train_per_class=args.train_per_class)
        return 0
    return 0 if predict(args.config, args.checkpoint, args.images, args.shown, args.min_accuracy) else 1


if __name__ == "__main__":
    sys.exit(main())
