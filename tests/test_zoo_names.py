"""timm's model names and wildcard patterns in the zoo, as a timm user writes them."""

import pytest

import mobilevit
from mobilevit import zoo


def test_list_models_takes_shell_patterns_as_timm_does():
    assert mobilevit.list_models("*xxsmall*") == [
        "mobilevit-xxsmall_3rdparty_in1k",
        "deeplabv3_mobilevit-xxsmall_3rdparty_voc",
        "ssdlite_mobilevit-xxsmall_3rdparty_coco",
    ]
    assert mobilevit.list_models(["ssdlite_*", "*_in1k"]) == [
        name for name in zoo.MODELS if name.startswith("ssdlite_") or name.endswith("_in1k")
    ]
    assert mobilevit.list_models("") == mobilevit.list_models() == list(zoo.MODELS)
    assert mobilevit.list_models("resnet*") == []


@pytest.mark.parametrize(
    ("timm_name", "ours"),
    [
        ("mobilevit_s", "mobilevit-small_3rdparty_in1k"),
        ("mobilevit_xs.cvnets_in1k", "mobilevit-xsmall_3rdparty_in1k"),
        ("mobilevit_xxs", "mobilevit-xxsmall_3rdparty_in1k"),
    ],
)
def test_timm_names_resolve_to_the_same_weights(timm_name, ours):
    assert zoo.get_record(timm_name) is zoo.MODELS[ours]
    assert mobilevit.get_model(timm_name).backbone.arch == mobilevit.get_model(ours).backbone.arch


def test_unknown_names_get_the_closest_zoo_or_timm_name():
    with pytest.raises(
        ValueError, match=r"neither a zoo model .*timm's 'mobilevit_s' is 'mobilevit-small_3rdparty_in1k'"
    ):
        mobilevit.init_model("mobilevit_s")
    with pytest.raises(ValueError, match=r"Did you mean 'mobilevit_xxs' \(timm's name of 'mobilevit-xxsmall_3rdparty"):
        zoo.get_record("mobilevit_xxxs")
    with pytest.raises(ValueError, match=r"Did you mean 'mobilevit-small_3rdparty_in1k'\?"):
        zoo.get_record("mobilevit-smal_3rdparty_in1k")


def test_the_package_docstring_shows_the_way_in():
    assert "mobilevit.get_model(" in mobilevit.__doc__ and "mobilevit plot" not in mobilevit.__doc__.splitlines()[0]
    assert len(mobilevit.__doc__.splitlines()) > 10
