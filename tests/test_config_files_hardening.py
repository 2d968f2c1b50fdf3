"""Config files of the wrong shape: an error naming the file and what was expected."""

import pytest

from mobilevit.config import ConfigError, load_config


@pytest.mark.parametrize("bases", ["5", "{'a': 'base.py'}", "[1]", "['']", "None"])
def test_a_base_that_is_not_a_file_name_or_a_list_of_them_is_refused(tmp_path, bases):
    (tmp_path / "base.py").write_text("model = dict(num_classes=5)\n")
    (tmp_path / "child.py").write_text(f"_base_ = {bases}\n")
    with pytest.raises(ConfigError, match=r"child.py: _base_ must be a config file name or a list of them"):
        load_config(tmp_path / "child.py")


def test_a_json_config_that_is_not_an_object_is_refused(tmp_path):
    (tmp_path / "list.json").write_text('[{"model": {"num_classes": 3}}]')
    with pytest.raises(ConfigError, match=r"list.json: a JSON config must be an object of sections .*got a list"):
        load_config(tmp_path / "list.json")
    (tmp_path / "child.py").write_text("_base_ = ['list.json']\n")
    with pytest.raises(ConfigError, match=r"list.json: a JSON config must be an object"):
        load_config(tmp_path / "child.py")
    (tmp_path / "latin.json").write_bytes('{"model": {"class_names": ["b\xe9te"]}}'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"cannot read config .*latin.json"):
        load_config(tmp_path / "latin.json")


def test_bases_given_as_a_name_or_a_list_still_merge(tmp_path):
    (tmp_path / "base.py").write_text("model = dict(num_classes=5)\n")
    for bases in ("'base.py'", "['base.py']", "('base.py',)"):
        (tmp_path / "child.py").write_text(f"_base_ = {bases}\n")
        assert load_config(tmp_path / "child.py").model.num_classes == 5


@pytest.mark.parametrize(
    "override",
    [
        "detection.image_size=300000",
        "data.preprocessing.resize_short=300000",
        "data.short_side_range=(512,300000)",
        "data.sampler.base_size=300000",
        "data.sampler.max_size=300000",
    ],
)
def test_image_sizes_beyond_the_limit_are_refused_with_what_they_would_take(tmp_path, override):
    task = "detection" if override.startswith("detection.") else "classification"  # a config sets its task's keys
    (tmp_path / "config.py").write_text(f"task = {task!r}\nmodel = dict(num_classes=3)\n")
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path / "config.py", [override])
    key = override.partition("=")[0]
    assert f"{key} must be at most 4096 pixels, got 300000: one 300000x300000 image alone would take " in str(
        error.value
    )
    assert "1,080,000 MB as float32 RGB, beyond the 201 MB of the limit" in str(error.value)
    at_limit = [override.replace("300000", "4096")] + ["data.sampler.max_size=4096"] * ("base_size" in key)
    assert load_config(tmp_path / "config.py", at_limit)
