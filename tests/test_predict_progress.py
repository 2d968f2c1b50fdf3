"""predict over many images shows a bar on a terminal when its results go elsewhere."""

import io
import sys

import numpy as np
from PIL import Image

from mobilevit.checkpoint import save_checkpoint
from mobilevit.cli import main as cli
from mobilevit.data.transforms import Preprocessing
from mobilevit.models import build_classifier

TINY = [["mobilenetv2", 8, 1, 1, 2], ["mobilevit", 16, 2, 16, 32, 1, 2]]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_shows_when_the_results_go_to_a_file_only(tmp_path, monkeypatch):
    model = build_classifier(TINY, num_classes=3)
    weights = save_checkpoint(
        tmp_path / "tiny.safetensors",
        model.state_dict(),
        TINY,
        Preprocessing(resize_short=36, crop_size=32),
        class_names=["a", "b", "c"],
    )
    for index in range(5):
        Image.fromarray(np.full((40, 40, 3), 40 * index, dtype=np.uint8)).save(tmp_path / f"{index}.png")
    arguments = ["predict", str(tmp_path), "--checkpoint", str(weights), "--batch-size", "2", "--json"]

    stderr, stdout = _Terminal(), io.StringIO()  # results redirected, the terminal watching
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setattr(sys, "stdout", stdout)
    assert cli(arguments) == 0
    assert len(stdout.getvalue().splitlines()) == 5 and "predict:" in stderr.getvalue()

    stderr, stdout = _Terminal(), _Terminal()  # results on the terminal: they are the progress
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setattr(sys, "stdout", stdout)
    assert cli(arguments) == 0
    assert len(stdout.getvalue().splitlines()) == 5 and stderr.getvalue() == ""
