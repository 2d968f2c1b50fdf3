import pytest
import torch

import mobilevit
from mobilevit.analysis import measure_complexity
from mobilevit.zoo import get_record

NAMES = ["mobilevit-xxsmall_3rdparty_in1k", "mobilevit-xsmall_3rdparty_in1k", "mobilevit-small_3rdparty_in1k"]


def test_list_models():
    assert mobilevit.list_models() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_published_params_and_flops_are_met(name):
    record = get_record(name)
    complexity = measure_complexity(mobilevit.get_model(name), 256, 256)
    assert round(complexity.params / 1e6, 2) == record.params_m
    assert abs(complexity.macs / 1e9 - record.flops_g) / record.flops_g < 0.02
    assert sum(complexity.breakdown.values()) == complexity.macs


def test_records_carry_weights_and_preprocessing():
    record = get_record("mobilevit-small_3rdparty_in1k")
    assert record.hash_prefix == "cb4f741c"
    assert record.url.endswith("mobilevit-small_3rdparty_in1k_20221018-cb4f741c.pth")
    assert (record.top1, record.top5, record.input_size) == (78.25, 94.09, 256)
    assert record.preprocessing.channel_order == "BGR"
    assert (record.preprocessing.resize_short, record.preprocessing.crop_size) == (288, 256)


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(ValueError, match="Did you mean 'mobilevit-small_3rdparty_in1k'.*mobilevit-xxsmall"):
        mobilevit.get_model("mobilevit-smal")


def test_get_model_loads_a_local_checkpoint(tmp_path):
    source = mobilevit.get_model("mobilevit-xxsmall_3rdparty_in1k").eval()
    path = tmp_path / "weights.pth"
    torch.save({"meta": {"note": "mmpretrain layout"}, "state_dict": source.state_dict()}, path)
    loaded = mobilevit.get_model("mobilevit-xxsmall_3rdparty_in1k", pretrained=path).eval()
    x = torch.rand(1, 3, 64, 64)
    assert torch.equal(source(x), loaded(x))


def test_a_checkpoint_of_another_arch_is_refused(tmp_path):
    path = tmp_path / "small.pth"
    torch.save(mobilevit.get_model("mobilevit-small_3rdparty_in1k").state_dict(), path)
    with pytest.raises(ValueError, match="shape mismatches"):
        mobilevit.get_model("mobilevit-xxsmall_3rdparty_in1k", pretrained=path)
