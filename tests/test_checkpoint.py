"""Safe reading of pickled checkpoints, our safetensors format, and downloads into the cache."""

import collections
import dataclasses
import hashlib
import http.server
import os
import pickle
import socket
import sys
import threading
import types
from pathlib import Path

import numpy as np
import pytest
import torch

import mobilevit
from mobilevit import zoo
from mobilevit.checkpoint import (
    CheckpointError, UnsafeCheckpointError, read_checkpoint, resolve_checkpoint, save_checkpoint)
from mobilevit.download import DownloadError, hash_prefix
from mobilevit.models import build_classifier

NAME = "mobilevit-xxsmall_3rdparty_in1k"


@pytest.fixture(scope="module")
def xxs_state():
    torch.manual_seed(0)
    return build_classifier("xx_small").state_dict()


def logits_of(model):
    with torch.no_grad():
        return model(torch.linspace(0, 1, 3 * 64 * 64).reshape(1, 3, 64, 64))


# --- safe unpickling -------------------------------------------------------------------------

def write_marker(path):
    """A payload: what a malicious checkpoint would make torch.load run."""
    Path(path).write_text("the payload ran")


class CallsWriteMarker:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return write_marker, (str(self.marker),)


class CallsSystem:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("payload", [CallsWriteMarker, CallsSystem])
def test_a_malicious_pickle_is_refused_without_running(tmp_path, xxs_state, payload):
    proof, marker = tmp_path / "proof", tmp_path / "marker"
    torch.save({"state_dict": xxs_state, "extra": payload(proof)}, tmp_path / "proof.pth")
    torch.load(tmp_path / "proof.pth", weights_only=False)  # the unsafe way: the payload is real
    assert proof.exists()
    torch.save({"state_dict": xxs_state, "extra": payload(marker)}, tmp_path / "evil.pth")
    with pytest.raises(UnsafeCheckpointError, match="refusing to load .*evil.pth.*(write_marker|system)"):
        mobilevit.init_model(NAME, tmp_path / "evil.pth")
    assert not marker.exists()


def test_a_plain_pickle_with_a_payload_is_refused(tmp_path):
    marker = tmp_path / "marker"
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(CallsWriteMarker(marker), protocol=2))
    with pytest.raises(UnsafeCheckpointError, match="refusing to load .*evil.pkl.*write_marker"):
        read_checkpoint(tmp_path / "evil.pkl")
    assert not marker.exists()


def test_a_training_checkpoint_with_foreign_objects_and_numpy_values_loads(tmp_path, xxs_state, monkeypatch):
    # A class of a training framework we do not have, as mmengine's message hub is to us.
    modules = {name: types.ModuleType(name) for name in ("mmengine", "mmengine.logging")}
    MessageHub = type("MessageHub", (), {"__module__": "mmengine.logging"})
    modules["mmengine.logging"].MessageHub = MessageHub
    hub = MessageHub()
    hub.log_scalars = {"loss": np.arange(4.0), "lr": np.float64(0.002)}
    with monkeypatch.context() as patch:
        for name, module in modules.items():
            patch.setitem(sys.modules, name, module)
        torch.save({
            "meta": {"epoch": np.int64(300), "seed": np.array([1, 2], dtype=np.int32), "hub": hub},
            "state_dict": collections.OrderedDict(xxs_state),
            "message_hub": hub,
        }, tmp_path / "epoch_300.pth")
    assert "mmengine" not in sys.modules
    model = mobilevit.init_model(NAME, tmp_path / "epoch_300.pth")
    assert "mmengine" not in sys.modules  # read inertly, never imported
    reference = build_classifier("xx_small").eval()
    reference.load_state_dict(xxs_state)
    assert torch.equal(logits_of(model), logits_of(reference))


def test_our_training_checkpoint_gives_its_ema_weights_and_class_names(tmp_path, xxs_state):
    model = build_classifier("xx_small", num_classes=2)
    ema = {key: value + 1 if value.is_floating_point() else value for key, value in model.state_dict().items()}
    torch.save({"model": model.state_dict(), "ema": ema, "optimizer": {"state": {}}, "step": 10, "epoch": 1,
                "rng": [{"cpu": torch.get_rng_state()}], "config": {"model": {"class_names": ["ant", "bee"]}}},
               tmp_path / "latest.pth")
    checkpoint = read_checkpoint(tmp_path / "latest.pth")
    assert checkpoint.layout == "training"
    assert checkpoint.metadata == {"class_names": ["ant", "bee"], "config": {"model": {"class_names": ["ant", "bee"]}},
                                   "weights": "ema", "epoch": 1, "step": 10}
    assert torch.equal(checkpoint.state_dict["head.fc.bias"], ema["head.fc.bias"])
    raw = read_checkpoint(tmp_path / "latest.pth", training_weights="model")
    assert raw.metadata["weights"] == "model"
    assert torch.equal(raw.state_dict["head.fc.bias"], model.state_dict()["head.fc.bias"])


def test_a_truncated_checkpoint_is_a_clear_error(tmp_path, xxs_state):
    torch.save(xxs_state, tmp_path / "full.pth")
    data = (tmp_path / "full.pth").read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cut.pth"):
        read_checkpoint(tmp_path / "cut.pth")


def test_missing_and_directory_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint not found: .*nope.pth"):
        resolve_checkpoint(tmp_path / "nope.pth")
    with pytest.raises(FileNotFoundError, match="no checkpoint in directory .*model.safetensors"):
        resolve_checkpoint(tmp_path)


# --- our format ------------------------------------------------------------------------------

def test_our_format_round_trip_with_metadata(tmp_path):
    model = build_classifier("xx_small", num_classes=3).eval()
    names = ["cat", "dog", "sea snake"]
    path = save_checkpoint(tmp_path / "pets.safetensors", model.state_dict(), "xx_small",
                           source_layout="timm", class_names=names)
    checkpoint = read_checkpoint(path)
    assert checkpoint.layout == "mobilevit"
    assert checkpoint.metadata["arch"] == "xx_small" and checkpoint.metadata["num_classes"] == 3
    assert checkpoint.metadata["source_layout"] == "timm" and checkpoint.metadata["class_names"] == names
    assert checkpoint.metadata["preprocessing"]["channel_order"] == "BGR"
    loaded = build_classifier("xx_small", num_classes=3).eval()
    mobilevit.checkpoint.load_checkpoint(loaded, path)
    assert torch.equal(logits_of(loaded), logits_of(model))


def test_our_format_refuses_wrong_names(tmp_path, xxs_state):
    with pytest.raises(ValueError, match="is a .safetensors file"):
        save_checkpoint(tmp_path / "x.pth", xxs_state, "xx_small")
    with pytest.raises(ValueError, match="2 class names for a head of \\(1000, 320\\)"):
        save_checkpoint(tmp_path / "x.safetensors", xxs_state, "xx_small", class_names=["a", "b"])


# --- downloads -------------------------------------------------------------------------------

class CountingServer:
    """Serves a folder on 127.0.0.1 and counts the GET requests per path."""

    def __init__(self, folder):
        self.requests = collections.Counter()
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(folder), **kwargs)

            def do_GET(self):
                server.requests[self.path] += 1
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def served(tmp_path, xxs_state, monkeypatch):
    """A checkpoint served under a name carrying its sha256 prefix, and an empty cache."""
    folder = tmp_path / "site"
    folder.mkdir()
    torch.save({"meta": {}, "state_dict": xxs_state}, folder / "weights.pth")
    digest = hashlib.sha256((folder / "weights.pth").read_bytes()).hexdigest()
    filename = f"mobilevit-xxsmall_test-{digest[:8]}.pth"
    (folder / "weights.pth").rename(folder / filename)
    monkeypatch.setenv("MOBILEVIT_HOME", str(tmp_path / "home"))
    server = CountingServer(folder)
    yield server, folder, filename
    server.close()


def test_a_url_is_downloaded_once_hash_checked_and_gives_the_local_logits(served, capfd):
    server, folder, filename = served
    url = f"{server.url}/{filename}"
    first = mobilevit.init_model(NAME, url)
    assert f"{filename}" in capfd.readouterr().err  # the progress bar, on stderr
    second = mobilevit.init_model(NAME, url)
    assert server.requests[f"/{filename}"] == 1
    cached = Path(os.environ["MOBILEVIT_HOME"]) / "checkpoints" / filename
    assert cached.read_bytes() == (folder / filename).read_bytes()
    assert [path.name for path in cached.parent.iterdir()] == [filename]  # no partial files left
    local = mobilevit.init_model(NAME, folder / filename)
    assert torch.equal(logits_of(first), logits_of(local)) and torch.equal(logits_of(second), logits_of(local))


def test_urls_with_the_same_generic_file_name_are_cached_apart(served):
    server, folder, filename = served
    for name, arch in (("a", "xx_small"), ("b", "x_small")):
        (folder / name).mkdir()
        torch.save(build_classifier(arch).state_dict(), folder / name / "model.pth")
    a = read_checkpoint(f"{server.url}/a/model.pth")
    b = read_checkpoint(f"{server.url}/b/model.pth")
    assert a.path != b.path and a.path.name == b.path.name == "model.pth"
    assert a.state_dict["head.fc.weight"].shape != b.state_dict["head.fc.weight"].shape


def test_a_corrupted_download_is_refused_and_deleted(served):
    server, folder, filename = served
    data = bytearray((folder / filename).read_bytes())
    data[-100] ^= 0xFF
    (folder / filename).write_bytes(bytes(data))
    with pytest.raises(DownloadError, match=f"{filename} is corrupt: .*starting with {hash_prefix(filename)}.*deleted"):
        mobilevit.init_model(NAME, f"{server.url}/{filename}")
    assert list((Path(os.environ["MOBILEVIT_HOME"]) / "checkpoints").iterdir()) == []


def test_get_model_pretrained_goes_through_the_download(served, monkeypatch):
    server, folder, filename = served
    record = dataclasses.replace(zoo.get_record(NAME), url=f"{server.url}/{filename}")
    monkeypatch.setitem(zoo.MODELS, NAME, record)
    model = mobilevit.get_model(NAME, pretrained=True).eval()
    assert server.requests[f"/{filename}"] == 1
    assert torch.equal(logits_of(model), logits_of(mobilevit.init_model(NAME, folder / filename)))


def test_an_unreachable_url_says_how_to_use_a_local_file(tmp_path, monkeypatch):
    monkeypatch.setenv("MOBILEVIT_HOME", str(tmp_path))
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/mobilevit-small_3rdparty_in1k_20221018-cb4f741c.pth"
    with pytest.raises(DownloadError, match=f"cannot download {url}: .*pass its local path instead"):
        mobilevit.init_model("mobilevit-small_3rdparty_in1k", url)
    assert list((tmp_path / "checkpoints").iterdir()) == []


def test_hash_prefix_of_file_names():
    assert hash_prefix("mobilevit-small_3rdparty_in1k_20221018-cb4f741c.pth") == "cb4f741c"
    assert hash_prefix("model.safetensors") is None
    assert hash_prefix("weights-final.pth") is None and hash_prefix("weights-cb4f74.pth") is None
