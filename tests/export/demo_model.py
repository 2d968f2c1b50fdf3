"""The demo's model, trained as ``scripts/demo.sh`` trains it (about half a minute on 2 cores), for
the tests that measure what bfloat16 and int8 cost in accuracy: only a trained model can say.
:func:`train_demo` trains another digits config the same way (the v2 demo)."""

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mobilevit.apis import init_model, prepare_batch
from mobilevit.checkpoint import load_weights
from mobilevit.cli import main
from mobilevit.config import load_config
from mobilevit.data.datasets import scan_folders
from mobilevit.engine import trainer
from mobilevit.models import ImageClassifier

ROOT = Path(__file__).parents[2]
DEMO_CONFIG = ROOT / "configs/mobilevit/mobilevit-tiny_1xb64_digits.py"
V2_DEMO_CONFIG = ROOT / "configs/mobilevitv2/mobilevitv2-050_1xb64_digits.py"


@dataclass(frozen=True)
class TrainedDemo:
    """The trained run and its held-out images (val and test splits, 500 digits)."""

    config: Path  # the run's config.json, pointing at the data written for the test
    checkpoint: Path
    model: ImageClassifier
    images: torch.Tensor
    labels: torch.Tensor


@pytest.fixture(scope="session")
def trained_demo(tmp_path_factory) -> TrainedDemo:
    return train_demo(DEMO_CONFIG, tmp_path_factory.mktemp("demo"))


def train_demo(config: Path, root: Path) -> TrainedDemo:
    """Write the digits under ``root`` and train the digits ``config`` on them there."""
    pytest.importorskip("sklearn")
    spec = importlib.util.spec_from_file_location("demo_digits", ROOT / "tools" / "demo_digits.py")
    demo_digits = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo_digits)

    demo_digits.write(root / "digits")
    work = root / "work"
    trainer.main(
        load_config(
            config,
            [
                f"data.root={root / 'digits'}",
                f"train.work_dir={work}",
                "train.progress_bar=False",
                "data.num_workers=0",
            ],
        )
    )
    model = init_model(work / "config.json", fuse=False)
    load_weights(model, work / "best.pth")
    samples = [
        *scan_folders(root / "digits" / "val", model.class_names).samples,
        *scan_folders(root / "digits" / "test", model.class_names).samples,
    ]
    images = prepare_batch([str(path) for path, _ in samples], model.preprocessing)
    labels = torch.tensor([label for _, label in samples])
    return TrainedDemo(work / "config.json", work / "best.pth", model.eval(), images, labels)


def top1(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Top-1 accuracy in percent."""
    return 100.0 * (logits.argmax(1) == labels).float().mean().item()


def argmax_agreement(logits: torch.Tensor, reference: torch.Tensor) -> float:
    """The fraction of images whose top class is the reference's."""
    return (logits.argmax(1) == reference.argmax(1)).float().mean().item()


def export_fp32_and_int8(demo: TrainedDemo, folder: Path, export_format: str, suffix: str) -> Path:
    """The demo model exported by `mobilevit export --format export_format` into ``folder`` as
    ``fp32{suffix}`` and ``int8{suffix}`` (calibrated on its training split); returns ``folder``."""
    common = ["export", str(demo.config), "--checkpoint", str(demo.checkpoint), "--format", export_format]
    assert main([*common, "--output", str(folder / f"fp32{suffix}")]) == 0
    int8 = ["--quantize", "int8", "--calibration", str(demo.config), "--output", str(folder / f"int8{suffix}")]
    assert main([*common, *int8]) == 0
    return folder


def check_test_and_predict_match_pytorch(demo: TrainedDemo, exported: Path, backend: str, image_dir: Path, capsys):
    """`mobilevit test` and `mobilevit predict` with ``--backend backend`` on the exported file give
    what they give on the checkpoint: the same metrics line and the same prediction."""
    assert main(["test", str(demo.config), str(demo.checkpoint)]) == 0
    pytorch_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["test", str(demo.config), str(exported), "--backend", backend]) == 0
    exported_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert exported_line.split("(")[0] == pytorch_line.split("(")[0] and "top-1" in exported_line
    assert f"{backend} running" in exported_line
    image = image_dir / "image.png"
    y, x = np.mgrid[0:40, 0:36]
    Image.fromarray(np.stack([x * 6, y * 5, (x * y) % 256], -1).astype(np.uint8)).save(image)
    common = ["predict", str(image), "--model", str(demo.config), "--json"]
    assert main([*common, "--checkpoint", str(demo.checkpoint)]) == 0
    expected = json.loads(capsys.readouterr().out)
    assert main([*common, "--checkpoint", str(exported), "--backend", backend]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["pred_label"] == expected["pred_label"]
    assert result["pred_score"] == pytest.approx(expected["pred_score"], abs=1e-5)
