"""How `mobilevit test` labels validation folders: ImageNet synsets, names a checkpoint carries,
and the class-count mismatches it refuses."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from mobilevit.cli import main
from mobilevit.config import load_config
from mobilevit.data.image import read_image
from mobilevit.data.transforms import EvalTransform
from mobilevit.engine import trainer
from mobilevit.imagenet import IMAGENET_SYNSETS
from mobilevit.tasks import build_model

# A subset of ImageNet's classes, as folders named by synset: their indices 1, 65, 409, 999.
SUBSET = {"n01443537": 1, "n01751748": 65, "n02708093": 409, "n15075141": 999}


@pytest.fixture(scope="module")
def synset_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("imagenet_subset")
    rng = np.random.default_rng(0)
    for number, synset in enumerate(SUBSET):
        folder = root / "val" / synset
        folder.mkdir(parents=True)
        for index in range(2 + number):
            Image.fromarray(rng.integers(0, 256, (36, 40, 3), dtype=np.uint8)).save(folder / f"{index}.png")
    return root


@pytest.fixture
def imagenet_model(tiny_config, synset_tree, tmp_path):
    """A tiny 1000-class model whose head favours some of the subset's classes and a few others,
    saved as a plain state dict (no class names), with its config."""
    config_path = tiny_config()
    options = ["model.num_classes=1000", f"data.root={str(synset_tree)!r}"]
    config = load_config(config_path, options)
    torch.manual_seed(0)
    model = build_model(config).eval()
    with torch.no_grad():
        model.head.fc.bias.zero_()
        model.head.fc.bias[[65, 409, 1, 3, 2, 999, 0]] = torch.tensor([3.0, 2.9, 2.0, 1.9, 1.8, 1.7, 1.6])
    torch.save(model.state_dict(), tmp_path / "imagenet.pth")
    return model, config, config_path, options


def _brute_force(model, root, preprocessing):
    """Top-1 and top-5 counted image by image, each folder labelled with its ImageNet index."""
    transform = EvalTransform(preprocessing)
    top1 = top5 = count = 0
    for synset, label in SUBSET.items():
        for path in sorted((root / "val" / synset).iterdir()):
            with torch.no_grad():
                ranked = model(transform(read_image(path))[None])[0].argsort(descending=True).tolist()
            top1, top5, count = top1 + (ranked[0] == label), top5 + (label in ranked[:5]), count + 1
    return 100 * top1 / count, 100 * top5 / count, count


def test_synset_folders_are_labelled_by_their_imagenet_index(imagenet_model, synset_tree, tmp_path):
    model, config, config_path, options = imagenet_model
    out = tmp_path / "results.json"
    assert (
        main(["test", str(config_path), str(tmp_path / "imagenet.pth"), "--out", str(out), "--cfg-options", *options])
        == 0
    )
    results = json.loads(out.read_text())
    top1, top5, count = _brute_force(model, synset_tree, config.data.preprocessing)
    assert (results["top1"], results["top5"], results["images"]) == (top1, top5, count)
    assert 0 < top1 < top5 < 100  # labels by sorted folder position (0-3) would give another top-1
    by_class = {entry["class"]: entry for entry in results["per_class"] if entry["images"]}
    assert {synset: IMAGENET_SYNSETS.index(synset) for synset in by_class} == SUBSET


def test_a_class_count_that_cannot_be_mapped_is_refused(imagenet_model, tiny_config, tiny_imagenet, tmp_path, capsys):
    _, _, config_path, _ = imagenet_model
    # 1000 outputs, three folders that are not synsets
    assert (
        main(["test", str(config_path), str(tmp_path / "imagenet.pth"), "--cfg-options", "model.num_classes=1000"]) == 2
    )
    err = capsys.readouterr().err
    assert "has 3 class folders but the model has 1000 outputs, so its labels cannot be told" in err
    assert "name ImageNet folders by WordNet synset (n01440764 ...)" in err
    six = tmp_path / "six.pth"
    torch.save(build_model(load_config(config_path, ["model.num_classes=6"])).state_dict(), six)
    assert main(["test", str(config_path), str(six), "--cfg-options", "model.num_classes=6"]) == 2
    err = capsys.readouterr().err
    assert "has 3 class folders but the model has 6 outputs" in err and "data.classes=[...]" in err
    assert (
        main(
            [
                "test",
                str(config_path),
                str(six),
                "--cfg-options",
                "model.num_classes=6",
                "data.classes=['n00_blue','n01_green','n02_red','a','b']",
            ]
        )
        == 2
    )
    assert "has 5 class names but the model has 6 outputs" in capsys.readouterr().err


def test_a_subset_of_a_run_s_classes_is_labelled_by_the_names_it_carries(tiny_config, tiny_imagenet, tmp_path, capsys):
    trainer.main(load_config(tiny_config(), ["train.max_steps=1"]))
    subset = tmp_path / "subset"
    (subset / "val").mkdir(parents=True)
    (subset / "val" / "n02_red").symlink_to(tiny_imagenet / "val" / "n02_red")
    checkpoint = tmp_path / "work" / "latest.pth"
    assert (
        main(
            [
                "test",
                str(checkpoint),
                "--out",
                str(tmp_path / "red.json"),
                "--cfg-options",
                f"data.root={str(subset)!r}",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "top-5" not in out  # three classes: every label is among the top 5
    results = json.loads((tmp_path / "red.json").read_text())
    assert "top5" not in results and [entry["images"] for entry in results["per_class"]] == [0, 0, 3]
    assert [entry["class"] for entry in results["per_class"]] == ["n00_blue", "n01_green", "n02_red"]
