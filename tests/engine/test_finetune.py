"""Fine-tuning: ``model.pretrained`` in every layout, backbone-only loading, frozen stages, learning
rate multipliers and the class count taken from the class folders, on the tiny data set."""

import dataclasses
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

import mobilevit
from mobilevit import zoo
from mobilevit.checkpoint import Checkpoint, CheckpointError, read_checkpoint, save_checkpoint
from mobilevit.cli import main as cli
from mobilevit.config import ConfigError, OptimConfig, load_config
from mobilevit.convert import from_timm
from mobilevit.engine import trainer
from mobilevit.engine.finetune import load_pretrained, parameter_groups, resolve_pretrained
from mobilevit.models import MobileViT, build_classifier
from mobilevit.tasks import build_model
from test_checkpoint import CountingServer
from test_convert import timm_to_cvnets
from tiny_run import TINY_CONFIG

timm = pytest.importorskip("timm")
transformers = pytest.importorskip("transformers")

ROOT = Path(__file__).resolve().parents[2]
XXS = "mobilevit-xxsmall_3rdparty_in1k"
# The tiny config at 32 pixels with the XXSmall arch of the published weights, classes left out.
FINETUNE_CONFIG = TINY_CONFIG.replace(
    'arch=[["mobilenetv2", 8, 1, 1, 2], ["mobilevit", 16, 2, 16, 32, 1, 2]],\n    num_classes=3,', 'arch="xx_small",'
)


@pytest.fixture
def finetune_config(tmp_path, tiny_imagenet):
    path = tmp_path / "finetune.py"
    path.write_text(FINETUNE_CONFIG.format(root=str(tiny_imagenet), work_dir=str(tmp_path / "work")))
    return path


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    """One 1000-class XXSmall checkpoint per layout, and the backbone tensors each holds in our names."""
    folder = tmp_path_factory.mktemp("layouts")
    torch.manual_seed(1)
    timm_state = timm.create_model("mobilevit_xxs", pretrained=False).state_dict()
    torch.save(timm_state, folder / "timm.pth")
    torch.save(timm_to_cvnets(timm_state), folder / "cvnets.pt")
    ours = from_timm(timm_state)
    torch.save({"meta": {"epoch": 300}, "state_dict": ours}, folder / "mmpretrain.pth")
    save_checkpoint(folder / "ours.safetensors", ours, "xx_small")
    ema = {key: value + 1 if value.is_floating_point() else value for key, value in ours.items()}
    torch.save({"model": ours, "ema": ema, "step": 7, "epoch": 1, "config": {}}, folder / "training.pth")
    config = transformers.MobileViTConfig(
        num_labels=1000, neck_hidden_sizes=[16, 16, 24, 48, 64, 80, 320], hidden_sizes=[64, 80, 96], expand_ratio=2.0
    )
    hf_model = transformers.MobileViTForImageClassification(config)
    hf_model.save_pretrained(folder / "hf")
    hf_backbone = read_checkpoint(folder / "hf").state_dict
    backbone = {key: value for key, value in ours.items() if key.startswith("backbone.")}
    return folder, {
        "timm.pth": backbone,
        "cvnets.pt": backbone,
        "mmpretrain.pth": backbone,
        "ours.safetensors": backbone,
        "training.pth": {key: ema[key] for key in backbone},  # a training checkpoint gives its EMA weights
        "hf": {key: value for key, value in hf_backbone.items() if key.startswith("backbone.")},
    }


class Stopped(Exception):
    """Raised in place of the first training step."""


def _stop_before_training(monkeypatch):
    """Replace the training loop by one that records the weights it was handed (step 0) and stops
    the run with :class:`Stopped`."""
    seen = []

    def record(run, *args, **kwargs):
        seen.append({key: value.clone() for key, value in run.model.state_dict().items()})
        raise Stopped

    monkeypatch.setattr(trainer, "train_one_epoch", record)
    return seen


@pytest.mark.parametrize("file", ["mmpretrain.pth", "cvnets.pt", "timm.pth", "hf", "ours.safetensors", "training.pth"])
def test_fine_tuning_starts_from_the_checkpoint_backbone_with_a_new_head(
    layouts, file, finetune_config, tmp_path, monkeypatch
):
    folder, expected = layouts
    seen = _stop_before_training(monkeypatch)
    config = load_config(finetune_config, [f"model.pretrained={str(folder / file)!r}"])
    with pytest.raises(Stopped):
        trainer.main(config)
    start = seen[0]
    for key, value in expected[file].items():
        assert torch.equal(start[key], value), key
    torch.manual_seed(config.train.seed)  # the head the trainer initialises, as a run from scratch has it
    fresh = build_model(dataclasses.replace(config, model=dataclasses.replace(config.model, num_classes=3)))
    assert start["head.fc.weight"].shape == (3, 320)
    assert torch.equal(start["head.fc.weight"], fresh.head.fc.weight)
    log = (tmp_path / "work" / "train.log").read_text()
    assert "pretrained: loaded 309 of the model's 311 tensors from" in log
    assert (
        "skipped 2 (shape differs): head.fc.bias (checkpoint (1000,), model (3,)), "
        "head.fc.weight (checkpoint (1000, 320), model (3, 320))" in log
    )


def test_a_zoo_name_loads_the_official_weights(layouts, finetune_config, tmp_path, monkeypatch):
    folder, expected = layouts
    server = CountingServer(folder)
    try:
        record = dataclasses.replace(zoo.get_record(XXS), url=f"{server.url}/mmpretrain.pth")
        monkeypatch.setitem(zoo.MODELS, XXS, record)
        monkeypatch.setenv("MOBILEVIT_HOME", str(tmp_path / "home"))
        assert resolve_pretrained(XXS) == record.url
        seen = _stop_before_training(monkeypatch)
        with pytest.raises(Stopped):
            trainer.main(load_config(finetune_config, [f"model.pretrained={XXS}"]))
    finally:
        server.close()
    assert torch.equal(seen[0]["backbone.stem.conv.weight"], expected["mmpretrain.pth"]["backbone.stem.conv.weight"])
    assert f"from {XXS} (" in (tmp_path / "work" / "train.log").read_text()


def test_a_run_trains_from_the_checkpoint_and_a_resumed_run_does_not_read_it_again(layouts, finetune_config, tmp_path):
    folder, _ = layouts
    pretrained = tmp_path / "in1k.pth"
    pretrained.write_bytes((folder / "mmpretrain.pth").read_bytes())
    trainer.main(load_config(finetune_config, [f"model.pretrained={str(pretrained)!r}", "train.max_steps=2"]))
    pretrained.unlink()  # the resumed run takes its weights from latest.pth
    model = trainer.main(load_config(finetune_config, [f"model.pretrained={str(pretrained)!r}", "train.max_steps=3"]))
    assert model.head.fc.out_features == 3
    log = (tmp_path / "work" / "train.log").read_text()
    assert log.count("pretrained: loaded") == 1 and "resumed from" in log


def test_frozen_stages_keep_weights_and_statistics_and_the_head_gets_its_multiplier(layouts, finetune_config, tmp_path):
    folder, expected = layouts
    options = [
        f"model.pretrained={str(folder / 'mmpretrain.pth')!r}",
        "model.frozen_stages=2",
        "optim.head_lr_mult=10",
        "optim.backbone_lr_mult=0.5",
        "train.max_steps=3",
        "train.ema=False",
    ]
    model = trainer.main(load_config(finetune_config, options))
    state = model.state_dict()
    frozen = [
        key
        for key in expected["mmpretrain.pth"]
        if key.startswith(("backbone.stem.", "backbone.layers.0.", "backbone.layers.1."))
    ]
    assert any(key.endswith("running_var") for key in frozen)
    for key in frozen:
        assert torch.equal(state[key], expected["mmpretrain.pth"][key]), key
    trained = "backbone.layers.2.0.conv.0.bn.running_mean"  # the first stage that is not frozen
    assert trained in state and not torch.equal(state[trained], expected["mmpretrain.pth"][trained])
    groups = torch.load(tmp_path / "work" / "latest.pth", weights_only=True)["optimizer"]["param_groups"]
    assert [(group["name"], group["lr_mult"]) for group in groups] == [("backbone", 0.5), ("head", 10.0)]
    assert groups[1]["lr"] == pytest.approx(20 * groups[0]["lr"])  # the schedule scales both each step
    trainable = sum(parameter.requires_grad for parameter in model.parameters())
    assert sum(len(group["params"]) for group in groups) == trainable < len(list(model.parameters()))
    assert "head 963 at lr x10" in (tmp_path / "work" / "train.log").read_text()


def test_parameter_groups_leave_frozen_parameters_out():
    model = build_classifier("xx_small", num_classes=3, frozen_stages=5)  # all five stages
    groups = parameter_groups(model, OptimConfig(head_lr_mult=5.0))
    assert [(group["name"], group["lr"], group["lr_mult"]) for group in groups] == [
        ("backbone", 0.002, 1.0),
        ("head", pytest.approx(0.01), 5.0),
    ]
    backbone = {id(parameter) for parameter in groups[0]["params"]}
    assert backbone == {id(parameter) for parameter in model.backbone.conv_1x1_exp.parameters()}


def test_num_classes_comes_from_the_class_folders(finetune_config, tmp_path):
    model = trainer.main(load_config(finetune_config, ["train.max_steps=1"]))
    assert model.head.fc.out_features == 3
    assert load_config(tmp_path / "work" / "config.json").model.num_classes == 3
    with pytest.raises(ValueError, match="3 classes but model.num_classes is 4; set model.num_classes=3 or leave"):
        trainer.main(load_config(finetune_config, ["model.num_classes=4"]))
    with pytest.raises(ConfigError, match="model.num_classes is not set"):
        build_model(load_config(finetune_config))


def test_the_backbone_alone_moves_between_models_of_different_tasks(layouts):
    folder, expected = layouts

    class Segmenter(nn.Module):  # a dense-task model: our backbone under another head
        def __init__(self):
            super().__init__()
            self.backbone = MobileViT("xx_small")
            self.decode_head = nn.Conv2d(320, 4, 1)

    segmenter = Segmenter()
    head = segmenter.decode_head.weight.clone()
    report = load_pretrained(segmenter, folder / "mmpretrain.pth", keys="backbone")
    assert torch.equal(segmenter.backbone.stem.conv.weight, expected["mmpretrain.pth"]["backbone.stem.conv.weight"])
    assert torch.equal(segmenter.decode_head.weight, head)
    assert (
        report.skipped["head.fc.weight"]
        == report.skipped["decode_head.weight"]
        == "outside model.pretrained_keys='backbone'"
    )
    # and back: the segmenter's backbone seeds a classifier of 5 classes
    checkpoint = Checkpoint(segmenter.state_dict(), "mobilevit", folder / "segmenter.pth")
    classifier = build_classifier("xx_small", num_classes=5)
    report = load_pretrained(classifier, checkpoint, keys="backbone")
    assert torch.equal(classifier.backbone.stem.conv.weight, segmenter.backbone.stem.conv.weight)
    assert len(report.loaded) == 309
    assert (
        "skipped 4 (outside model.pretrained_keys='backbone'): decode_head.bias, decode_head.weight, "
        "head.fc.bias, head.fc.weight" in report.describe()[1]
    )


def test_a_checkpoint_of_another_arch_or_module_is_refused_with_the_reason(tmp_path):
    torch.save(build_classifier("small").state_dict(), tmp_path / "small.pth")
    with pytest.raises(CheckpointError, match="does not fit the model's backbone: .*arch 'small': set model.arch"):
        load_pretrained(build_classifier("xx_small"), tmp_path / "small.pth")
    deeper = build_classifier("xx_small").state_dict()
    deeper["backbone.layers.2.1.global_rep.9.ln.weight"] = torch.ones(64)  # a layer the model does not have
    with pytest.raises(CheckpointError, match=r"backbone.layers.2.1.global_rep.9.ln.weight \(not in the model\)"):
        load_pretrained(build_classifier("xx_small"), Checkpoint(deeper, "mobilevit", tmp_path / "deeper.pth"))
    with pytest.raises(CheckpointError, match="pretrained_keys='backbon' names no module of the model"):
        load_pretrained(build_classifier("small"), tmp_path / "small.pth", keys="backbon")
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        load_pretrained(build_classifier("small"), tmp_path / "missing.pth")


def test_fine_tuning_settings_are_checked(finetune_config):
    with pytest.raises(ConfigError, match=r"optim.head_lr_mult must be positive"):
        load_config(finetune_config, ["optim.head_lr_mult=0"])
    with pytest.raises(ConfigError, match="model.pretrained_keys needs model.pretrained"):
        load_config(finetune_config, ["model.pretrained_keys=backbone"])
    with pytest.raises(ConfigError, match="pretrained_keys must be '' or a module name"):
        load_config(finetune_config, ["model.pretrained=x.pth", "model.pretrained_keys='backbone.*'"])
    with pytest.raises(ConfigError, match="model.num_classes must be at least 1"):
        load_config(finetune_config, ["model.num_classes=0"])


def test_get_model_replaces_the_head_like_timm(tmp_path):
    source = build_classifier("xx_small")
    torch.save(source.state_dict(), tmp_path / "in1k.pth")
    with pytest.warns(UserWarning, match=r"head.fc.weight \(checkpoint \(1000, 320\), model \(3, 320\)\)"):
        model = mobilevit.get_model(XXS, pretrained=tmp_path / "in1k.pth", num_classes=3)
    assert model.head.fc.out_features == 3
    assert torch.equal(model.backbone.stem.conv.weight, source.backbone.stem.conv.weight)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same class count: everything loads, nothing to warn about
        model = mobilevit.get_model(XXS, pretrained=tmp_path / "in1k.pth")
    assert torch.equal(model.head.fc.weight, source.head.fc.weight)


def test_the_custom_data_config_fine_tunes_the_official_weights(layouts, tiny_imagenet, tmp_path, monkeypatch, capsys):
    config_path = ROOT / "configs/mobilevit/mobilevit-xxsmall_finetune_custom.py"
    config = load_config(config_path)
    assert (config.model.pretrained, config.model.num_classes, config.optim.head_lr_mult) == (XXS, None, 10.0)
    assert resolve_pretrained(config.model.pretrained) == zoo.get_record(XXS).url
    folder, expected = layouts
    small = [
        "data.sampler.base_size=32",
        "data.sampler.min_size=24",
        "data.sampler.max_size=40",
        "data.sampler.multiple=8",
        "data.batch_size=6",
        "data.num_workers=0",
        "train.amp=none",
        "data.preprocessing.resize_short=36",
        "data.preprocessing.crop_size=32",
        "train.progress_bar=False",
    ]
    seen = _stop_before_training(monkeypatch)
    with pytest.raises(Stopped):
        trainer.main(
            load_config(
                config_path,
                [
                    f"data.root={tiny_imagenet}",
                    f"train.work_dir={tmp_path / 'work'}",
                    f"model.pretrained={str(folder / 'mmpretrain.pth')!r}",
                    *small,
                ],
            )
        )
    assert torch.equal(seen[0]["backbone.stem.conv.weight"], expected["mmpretrain.pth"]["backbone.stem.conv.weight"])
    assert seen[0]["head.fc.weight"].shape == (3, 320)
    monkeypatch.chdir(ROOT)
    assert cli(["list", "--configs"]) == 0
    listed = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["configs/mobilevit/mobilevit-xxsmall_finetune_custom.py", "xx_small", "folders", "data/custom"] in listed


def test_a_classifier_seeds_a_detectors_stages_and_its_extra_layers_are_skipped(tmp_path):
    from mobilevit.models import build_ssdlite

    classifier = build_classifier("xx_small")
    torch.save(classifier.state_dict(), tmp_path / "classifier.pth")
    detector = build_ssdlite("xx_small")
    report = load_pretrained(detector, tmp_path / "classifier.pth", keys="backbone")
    ours, theirs = detector.state_dict(), classifier.state_dict()
    assert all(torch.equal(ours[key], theirs[key]) for key in ours if key.startswith("backbone.layers."))
    assert report.skipped["backbone.conv_1x1_exp.conv.weight"] == "not in the model"
    assert any(
        key.startswith("backbone.extra_layers.") and reason == "not in the checkpoint"
        for key, reason in report.skipped.items()
    )
