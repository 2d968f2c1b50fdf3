"""A MobileViT v2 classifier through the library unchanged: train, test, convert, load."""

import torch

import mobilevit
from mobilevit.checkpoint import read_checkpoint
from mobilevit.cli import main
from mobilevit.config import load_config
from mobilevit.engine import trainer
from mobilevit.models import MobileViTV2

V2_OPTIONS = [
    "model.arch=v2_050",
    "data.preprocessing.channel_order=RGB",
    "data.preprocessing.interpolation=bicubic",
    "train.max_steps=2",
]


def test_a_v2_run_trains_tests_converts_and_loads(tiny_config, tmp_path):
    config = load_config(tiny_config(), V2_OPTIONS)
    assert config.model.arch == "v2_050"
    trainer.main(config)
    latest = tmp_path / "work" / "latest.pth"
    assert main(["test", str(latest), "--out", str(tmp_path / "test.json")]) == 0
    model = mobilevit.init_model(latest)
    assert isinstance(model.backbone, MobileViTV2) and model.num_classes == 3
    assert model.preprocessing.channel_order == "RGB"
    assert main(["convert", str(latest), str(tmp_path / "v2.safetensors")]) == 0
    converted = read_checkpoint(tmp_path / "v2.safetensors")
    assert converted.metadata["arch"] == "v2_050" and converted.metadata["preprocessing"]["interpolation"] == "bicubic"
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(mobilevit.init_model(tmp_path / "v2.safetensors")(x), model(x), atol=1e-5)
