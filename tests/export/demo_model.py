"""The demo's model, trained as ``scripts/demo.sh`` trains it (about half a minute on 2 cores), for
the tests that measure what bfloat16 and int8 cost in accuracy: only a trained model can say."""

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from mobilevit.apis import init_model, prepare_batch
from mobilevit.checkpoint import load_weights
from mobilevit.config import load_config
from mobilevit.data.datasets import scan_folders
from mobilevit.engine import trainer
from mobilevit.models import ImageClassifier

ROOT = Path(__file__).parents[2]
DEMO_CONFIG = ROOT / "configs/mobilevit/mobilevit-tiny_1xb64_digits.py"


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
    pytest.importorskip("sklearn")
    spec = importlib.util.spec_from_file_location("demo_digits", ROOT / "tools" / "demo_digits.py")
    demo_digits = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo_digits)

    root = tmp_path_factory.mktemp("demo")
    demo_digits.write(root / "digits")
    work = root / "work"
    trainer.main(
        load_config(
            DEMO_CONFIG,
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
