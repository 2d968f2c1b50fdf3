"""``init_model(<zoo name>)`` gives the zoo record's weights for every task, never random ones."""

import urllib.request

import pytest
import torch

import mobilevit
from mobilevit.download import DownloadError, cached_path
from mobilevit.zoo import get_model, get_record

NAMES = (
    "mobilevit-xxsmall_3rdparty_in1k",
    "deeplabv3_mobilevit-xxsmall_3rdparty_voc",
    "ssdlite_mobilevit-xxsmall_3rdparty_coco",
)


@pytest.fixture()
def offline_cache(tmp_path, monkeypatch):
    """An empty cache and no way out: every URL goes to a proxy on a closed loopback port."""
    monkeypatch.setenv("MOBILEVIT_HOME", str(tmp_path / "home"))
    for variable in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setattr(urllib.request, "_opener", None)  # urlopen reads the proxies once, into this


@pytest.mark.parametrize("name", NAMES)
def test_a_zoo_name_loads_the_file_its_record_names(name, offline_cache):
    torch.manual_seed(0)
    published = get_model(name)
    path = cached_path(get_record(name).url)
    path.parent.mkdir(parents=True)
    torch.save(published.state_dict(), path)  # as if downloaded earlier
    first, second = mobilevit.init_model(name), mobilevit.init_model(name)
    for model in (first, second):
        for key, value in published.state_dict().items():
            assert torch.equal(model.state_dict()[key], value), key


@pytest.mark.parametrize("name", NAMES)
def test_a_zoo_name_offline_with_an_empty_cache_raises(name, offline_cache):
    with pytest.raises(DownloadError, match="cannot download"):
        mobilevit.init_model(name)


@pytest.mark.parametrize("name", NAMES)
def test_init_model_returns_the_checkpoints_model_and_fuses_when_asked(name, offline_cache):
    published = get_model(name)
    path = cached_path(get_record(name).url)
    path.parent.mkdir(parents=True)
    torch.save(published.state_dict(), path)
    model = mobilevit.init_model(name)
    assert not model.training and model.state_dict().keys() == published.state_dict().keys()
    count = sum(parameter.numel() for parameter in model.parameters())
    assert count == sum(parameter.numel() for parameter in published.parameters())
    assert model.train().training  # trainable as loaded
    fused = mobilevit.init_model(name, fuse=True)
    assert sum(parameter.numel() for parameter in fused.parameters()) < count  # BatchNorms folded away
    with pytest.raises(RuntimeError, match="for inference only"):
        fused.train()
