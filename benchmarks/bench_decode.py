"""JPEG decoding plus random resized crop, per CPU core: PIL beside torchvision.io.decode_jpeg.

The JPEGs are made here: smooth colour fields with noise, which compress like photographs.
Every path gets the same files and the same crop boxes (``random_resized_crop_box``), resizes
bilinearly to the output size and ends with a (3, size, size) uint8 tensor. One thread; paths run
interleaved, one pass over all images each per round; figures are medians.

    python benchmarks/bench_decode.py --out benchmarks/results/decode.json
    python benchmarks/bench_decode.py --width 1600 --height 1200   # camera-sized photos
"""

from __future__ import annotations

import argparse
import io
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision.io import decode_jpeg
from torchvision.transforms.v2 import functional as TF

from common import interleaved_medians, machine, markdown_table, write_json
from mobilevit.data.transforms import random_resized_crop_box

Box = tuple[int, int, int, int]  # left, top, width, height


def make_jpegs(count: int, width: int, height: int, quality: int, seed: int = 0) -> list[bytes]:
    """``count`` photo-like JPEG files, as bytes."""
    generator = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    files = []
    for _ in range(count):
        frequencies = generator.uniform(0.002, 0.03, size=(3, 2))
        phases = generator.uniform(0, 2 * np.pi, size=3)
        channels = [127 + 100 * np.sin(fx * x + fy * y + phase) for (fx, fy), phase in zip(frequencies, phases)]
        pixels = np.stack(channels, axis=-1) + generator.normal(0, 12, size=(height, width, 3))
        buffer = io.BytesIO()
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=quality)
        files.append(buffer.getvalue())
    return files


def pil_full(data: bytes, box: Box, size: int) -> torch.Tensor:
    """PIL: decode the whole image, then crop and resize in one call."""
    left, top, width, height = box
    with Image.open(io.BytesIO(data)) as image:
        crop = image.convert("RGB").resize(
            (size, size), Image.Resampling.BILINEAR, box=(left, top, left + width, top + height)
        )
    return torch.from_numpy(np.asarray(crop)).permute(2, 0, 1)


def pil_draft(data: bytes, box: Box, size: int) -> torch.Tensor:
    """PIL as the training pipeline reads: decoded at the smallest scale (1/2, 1/4, 1/8) that
    keeps the crop at least ``size`` pixels, then cropped and resized in one call."""
    left, top, width, height = box
    with Image.open(io.BytesIO(data)) as image:
        full_width, full_height = image.size
        reduction = min(width, height) / size
        image.draft("RGB", (math.ceil(full_width / reduction), math.ceil(full_height / reduction)))
        x_factor, y_factor = image.width / full_width, image.height / full_height
        crop = image.resize(
            (size, size),
            Image.Resampling.BILINEAR,
            box=(left * x_factor, top * y_factor, (left + width) * x_factor, (top + height) * y_factor),
        )
    return torch.from_numpy(np.asarray(crop)).permute(2, 0, 1)


def torchvision_decode(data: bytes, box: Box, size: int) -> torch.Tensor:
    """torchvision.io.decode_jpeg to a uint8 (3, H, W) tensor, then crop and antialiased resize."""
    left, top, width, height = box
    image = decode_jpeg(torch.frombuffer(bytearray(data), dtype=torch.uint8))
    crop = image[:, top : top + height, left : left + width]
    return TF.resize(crop, [size, size], interpolation=TF.InterpolationMode.BILINEAR, antialias=True)


def decode_only(decode: Callable[[bytes], object]) -> Callable[[bytes, Box, int], object]:
    return lambda data, box, size: decode(data)


PATHS: dict[str, Callable[[bytes, Box, int], torch.Tensor]] = {
    "PIL decode": decode_only(lambda data: np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))),
    "torchvision decode_jpeg": decode_only(
        lambda data: decode_jpeg(torch.frombuffer(bytearray(data), dtype=torch.uint8))
    ),
    "PIL decode + crop": pil_full,
    "PIL draft decode + crop": pil_draft,
    "torchvision decode_jpeg + crop": torchvision_decode,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=64, help="JPEG files to make (default 64)")
    parser.add_argument("--width", type=int, default=500)
    parser.add_argument("--height", type=int, default=375)
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality (default 90)")
    parser.add_argument("--size", type=int, default=256, help="crop output side (default 256)")
    parser.add_argument("--rounds", type=int, default=7, help="timed passes per path (default 7)")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()

    torch.set_num_threads(1)
    files = make_jpegs(args.images, args.width, args.height, args.quality)
    generator = torch.Generator().manual_seed(0)
    boxes = [random_resized_crop_box(args.width, args.height, (0.08, 1.0), (3 / 4, 4 / 3), generator) for _ in files]

    def run_all(path: Callable[[bytes, Box, int], torch.Tensor]) -> Callable[[], None]:
        return lambda: [path(data, box, args.size) for data, box in zip(files, boxes)]

    seconds = interleaved_medians({name: run_all(path) for name, path in PATHS.items()}, args.rounds, warmup=1)
    rows = [{"path": name, "images_per_second": len(files) / seconds[name]} for name in PATHS]
    print(
        f"{len(files)} JPEGs of {args.width}x{args.height} (quality {args.quality}, "
        f"{sum(map(len, files)) / len(files) / 1024:.0f} KiB each), random resized crop to {args.size}, "
        f"1 thread, torchvision {torchvision.__version__}\n"
    )
    print(
        markdown_table(
            ["path", "images/s per core"], [[row["path"], f"{row['images_per_second']:.0f}"] for row in rows]
        )
    )
    if args.out:
        write_json(args.out, {"machine": machine(), "settings": vars(args) | {"out": str(args.out)}, "results": rows})


if __name__ == "__main__":
    main()
