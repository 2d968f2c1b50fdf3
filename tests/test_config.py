import pytest

from mobilevit.config import ConfigError, load_config, to_dict
from mobilevit.tasks import build_model

SEED_CONFIGS = {
    "configs/mobilevit/mobilevit-small_8xb128_in1k.py": ("small", 640),
    "configs/mobilevit/mobilevit-xsmall_8xb128_in1k.py": ("x_small", 384),
    "configs/mobilevit/mobilevit-xxsmall_8xb128_in1k.py": ("xx_small", 320),
}


@pytest.mark.parametrize("path", SEED_CONFIGS)
def test_seed_configs_build_their_model(path):
    config = load_config(path)
    arch, channels = SEED_CONFIGS[path]
    assert config.model.arch == arch
    assert build_model(config).head.fc.in_features == channels


def test_bases_merge_and_children_override(tmp_path):
    (tmp_path / "base.py").write_text("model = dict(arch='xx_small', num_classes=10, dropout=0.1)\n")
    (tmp_path / "child.py").write_text("_base_ = 'base.py'\nmodel = dict(num_classes=5)\n")
    config = load_config(tmp_path / "child.py")
    assert (config.model.arch, config.model.num_classes, config.model.dropout) == ("xx_small", 5, 0.1)
    (tmp_path / "reset.py").write_text("_base_ = ['base.py']\nmodel = dict(_delete_=True, arch='small')\n")
    assert load_config(tmp_path / "reset.py").model.num_classes is None  # left out: training counts the classes


def test_overrides(tmp_path):
    (tmp_path / "c.py").write_text("model = dict(arch='xx_small')\n")
    config = load_config(tmp_path / "c.py", ["model.num_classes=3", "model.arch=x_small", "model.out_indices=[2,4]"])
    assert (config.model.num_classes, config.model.arch, config.model.out_indices) == (3, "x_small", (2, 4))
    assert to_dict(config)["model"]["num_classes"] == 3


def test_unknown_key_suggests_the_closest(tmp_path):
    (tmp_path / "c.py").write_text("model = dict(num_clases=3)\n")
    with pytest.raises(ConfigError, match="unknown key 'model.num_clases'; did you mean 'num_classes'"):
        load_config(tmp_path / "c.py")
    with pytest.raises(ConfigError, match="did you mean 'model'"):
        load_config("configs/mobilevit/mobilevit-small_8xb128_in1k.py", ["modle.arch=small"])
    (tmp_path / "d.py").write_text("data = dict(preprocessing=dict(crop=3))\n")
    with pytest.raises(ConfigError, match="'data.preprocessing.crop'; did you mean 'crop_size'"):
        load_config(tmp_path / "d.py")


def test_unknown_key_without_a_close_match_lists_the_valid_keys(tmp_path):
    (tmp_path / "c.py").write_text("schedule = dict(epochs=1)\n")
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path / "c.py", ["optim.zzz=1"])
    assert str(error.value) == (
        f"{tmp_path / 'c.py'}: unknown key 'optim.zzz', which is not close to any valid key. "
        "The keys of section 'optim' are: backbone_lr_mult, betas, clip_grad, eps, head_lr_mult, lr, momentum, name, "
        "weight_decay"
    )
    with pytest.raises(
        ConfigError,
        match="unknown key 'qqq', which is not close to any valid key. "
        "The sections of a config are: data, detection, model, optim, schedule, task, train",
    ):
        load_config(tmp_path / "c.py", ["qqq.x=1"])


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.py")
    (tmp_path / "a.py").write_text("_base_ = 'b.py'\n")
    (tmp_path / "b.py").write_text("_base_ = 'a.py'\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_config(tmp_path / "a.py")
    (tmp_path / "t.py").write_text("model = dict(num_classes='many')\n")
    with pytest.raises(ConfigError, match="model.num_classes must be an integer or None, got .many."):
        load_config(tmp_path / "t.py")
