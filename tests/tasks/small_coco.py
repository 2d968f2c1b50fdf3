"""A COCO folder of a few small images with a box each, and the overrides that point a detection
config at it (its one folder and annotation file serve as both splits)."""

import json
from pathlib import Path

import numpy as np
from PIL import Image

BOX = [20, 10, 40, 30]  # x, y, width, height of every image's one box


def write_coco(root: Path, images: list[np.ndarray]) -> None:
    """``images`` ((H, W, 3) uint8) as ``root/images/<index>.png``, each with one box, in ``root/boxes.json``."""
    (root / "images").mkdir(parents=True)
    entries, annotations = [], []
    for index, image in enumerate(images):
        Image.fromarray(image).save(root / "images" / f"{index}.png")
        height, width = image.shape[:2]
        entries.append({"id": index + 1, "file_name": f"{index}.png", "width": width, "height": height})
        annotations.append({"id": index + 1, "image_id": index + 1, "category_id": 1, "bbox": BOX, "iscrowd": 0})
    coco = {"images": entries, "annotations": annotations, "categories": [{"id": 1, "name": "patch"}]}
    (root / "boxes.json").write_text(json.dumps(coco))


def coco_overrides(root: Path, image_size: int = 64) -> list[str]:
    """Config overrides that train and evaluate on :func:`write_coco`'s folder, two images a batch."""
    return [
        f"data.root={root}",
        "data.train_split=images",
        "data.val_split=images",
        "data.train_annotation=boxes.json",
        "data.val_annotation=boxes.json",
        "data.num_workers=0",
        "data.batch_size=2",
        "data.val_batch_size=2",
        f"detection.image_size={image_size}",
    ]
