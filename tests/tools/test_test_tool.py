import json
import subprocess
import sys
from pathlib import Path

import torch

from mobilevit.config import load_config, to_dict
from mobilevit.data.datasets import scan_folders
from mobilevit.data.image import read_image
from mobilevit.data.transforms import EvalTransform
from mobilevit.tasks import build_model

ROOT = Path(__file__).resolve().parents[2]


def _brute_force(model, images, preprocessing):
    """Top-1 and top-5 counted one image at a time."""
    transform = EvalTransform(preprocessing)
    top1 = top5 = 0
    per_class = {}
    with torch.no_grad():
        for path, label in images.samples:
            scores = model.eval()(transform(read_image(path))[None])[0]
            ranked = scores.argsort(descending=True).tolist()
            top1 += ranked[0] == label
            top5 += label in ranked[:5]
            hits, count = per_class.get(label, (0, 0))
            per_class[label] = (hits + (ranked[0] == label), count + 1)
    count = len(images.samples)
    return 100 * top1 / count, 100 * top5 / count, per_class


def test_tools_test_gives_the_exact_counts(tiny_config, tmp_path):
    """tools/test.py, on a 6-class set so top-5 is not trivially 100%, with a training checkpoint
    whose EMA weights differ from its model weights: the EMA ones are tested."""
    config_path = tiny_config()
    # three classes without images: the model's six are named, so the folders map onto them
    options = ["model.num_classes=6", "data.classes=['n00_blue','n01_green','n02_red','white','black','grey']"]
    config = load_config(config_path, options)
    torch.manual_seed(0)
    model, ema = build_model(config), build_model(config)
    with torch.no_grad():
        ema.head.fc.bias.copy_(torch.tensor([0.0, 0.3, -0.2, 0.1, 0.0, 0.2]))
    checkpoint = tmp_path / "trained.pth"
    torch.save(
        {"model": model.state_dict(), "ema": ema.state_dict(), "epoch": 1, "step": 7, "config": to_dict(config)},
        checkpoint,
    )
    out = tmp_path / "results.json"
    command = [
        sys.executable,
        str(ROOT / "tools" / "test.py"),
        str(config_path),
        str(checkpoint),
        "--out",
        str(out),
        "--cfg-options",
        *options,
    ]
    completed = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert "EMA weights" in completed.stdout

    images = scan_folders(Path(config.data.root) / "val")
    top1, top5, per_class = _brute_force(ema, images, config.data.preprocessing)
    results = json.loads(out.read_text())
    assert (results["top1"], results["top5"], results["images"]) == (top1, top5, 9)
    assert top5 < 100
    for label, entry in enumerate(results["per_class"][:3]):
        hits, count = per_class[label]
        assert entry == {"class": images.class_names[label], "accuracy": 100 * hits / count, "images": count}
    assert [entry["images"] for entry in results["per_class"][3:]] == [0, 0, 0]


def test_tools_test_names_a_missing_checkpoint(tiny_config, tmp_path):
    from mobilevit.cli import main

    assert main(["test", str(tiny_config()), str(tmp_path / "missing.pth")]) == 2
