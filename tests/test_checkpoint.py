"""Safe reading of pickled checkpoints, our safetensors format, and downloads into the cache."""

import collections
import dataclasses
import errno
import hashlib
import http.server
import json
import os
import pickle
import socket
import subprocess
import sys
import threading
import types
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch

import mobilevit
import mobilevit.download
import mobilevit.integrity
from mobilevit import zoo
from mobilevit.checkpoint import (
    CheckpointError,
    UnsafeCheckpointError,
    read_checkpoint,
    read_metadata,
    resolve_checkpoint,
    save_checkpoint,
)
from mobilevit.data.transforms import Preprocessing
from mobilevit.download import DownloadError, cached_path, hash_prefix
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
        torch.save(
            {
                "meta": {"epoch": np.int64(300), "seed": np.array([1, 2], dtype=np.int32), "hub": hub},
                "state_dict": collections.OrderedDict(xxs_state),
                "message_hub": hub,
            },
            tmp_path / "epoch_300.pth",
        )
    assert "mmengine" not in sys.modules
    model = mobilevit.init_model(NAME, tmp_path / "epoch_300.pth", fuse=False)
    assert "mmengine" not in sys.modules  # read inertly, never imported
    reference = build_classifier("xx_small").eval()
    reference.load_state_dict(xxs_state)
    assert torch.equal(logits_of(model), logits_of(reference))


def test_our_training_checkpoint_gives_its_ema_weights_and_class_names(tmp_path, xxs_state):
    model = build_classifier("xx_small", num_classes=2)
    ema = {key: value + 1 if value.is_floating_point() else value for key, value in model.state_dict().items()}
    torch.save(
        {
            "model": model.state_dict(),
            "ema": ema,
            "optimizer": {"state": {}},
            "step": 10,
            "epoch": 1,
            "rng": [{"cpu": torch.get_rng_state()}],
            "config": {"model": {"class_names": ["ant", "bee"]}},
        },
        tmp_path / "latest.pth",
    )
    checkpoint = read_checkpoint(tmp_path / "latest.pth")
    assert checkpoint.layout == "training"
    assert checkpoint.metadata == {
        "class_names": ["ant", "bee"],
        "weights": "ema",
        "epoch": 1,
        "step": 10,
        "config": {"model": {"class_names": ["ant", "bee"]}},
    }
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
    path = save_checkpoint(
        tmp_path / "pets.safetensors", model.state_dict(), "xx_small", source_layout="timm", class_names=names
    )
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
    assert torch.equal(logits_of(model), logits_of(mobilevit.init_model(NAME, folder / filename, fuse=False)))


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


def test_cache_file_names_are_safe_whatever_the_url(tmp_path, monkeypatch):
    monkeypatch.setenv("MOBILEVIT_HOME", str(tmp_path))
    for url in ("http://127.0.0.1:1/weights/%2e%2e", "http://127.0.0.1:1/weights/", "http://127.0.0.1:1/%2E"):
        with pytest.raises(DownloadError, match="cannot tell a file name from the URL"):
            mobilevit.init_model(NAME, url)
    assert cached_path("http://host/a%2Fb%20c%00d%5C.pth").name == "b_c_d_.pth"
    assert cached_path("http://host/x/%2e%2e%2fevil-cb4f741c.pth") == tmp_path / "checkpoints" / "evil-cb4f741c.pth"


class RawServer:
    """Answers every request on 127.0.0.1 with the same raw bytes, then closes the connection."""

    def __init__(self, response: bytes):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.response = response
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:  # closed
                return
            with connection:
                request = b""
                while b"\r\n\r\n" not in request and (data := connection.recv(4096)):
                    request += data
                connection.sendall(self.response)

    def close(self):
        self.socket.close()


@pytest.fixture()
def raw_server(tmp_path, monkeypatch):
    monkeypatch.setenv("MOBILEVIT_HOME", str(tmp_path / "home"))
    servers = []

    def start(response: bytes) -> RawServer:
        servers.append(RawServer(response))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


BODY = (bytes(range(128, 256)) + bytes(range(128))) * 64  # 16 KiB, starting as a pickle does (0x80)
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n"


def cache_files():
    return sorted(
        str(path.relative_to(os.environ["MOBILEVIT_HOME"]))
        for path in Path(os.environ["MOBILEVIT_HOME"]).rglob("*")
        if path.is_file()
    )


@pytest.mark.parametrize(
    "response, message",
    [
        (HEAD + b"\r\n" + BODY[:5000], "neither a Content-Length nor chunked encoding.*not kept"),
        (HEAD + b"Content-Length: 16384\r\n\r\n" + BODY[:5000], "stopped after 5000 of 16384 bytes"),
        (
            HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + b"4000\r\n" + BODY[:5000],
            "broke off \\(the connection closed before the end",
        ),
        (
            HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + b"1000\r\n" + BODY[:4096] + b"\r\n",
            "broke off \\(the connection closed before the end of the chunked transfer\\); the partial file was deleted",
        ),
        (HEAD + b"Content-Length: lots\r\n\r\n" + BODY, "with a bad Content-Length 'lots'"),
        (b"HTTP/1.1 2", "cannot download .*: the server's answer is no HTTP response .*pass its local path instead"),
        (b"", "cannot download .*Remote end closed"),
    ],
)
def test_a_transfer_cut_short_is_a_clear_error_and_caches_nothing(raw_server, response, message):
    server = raw_server(response)
    with pytest.raises(DownloadError, match=message):
        mobilevit.download.download_checkpoint(f"{server.url}/models/model.pth", progress=False)
    assert cache_files() == []


CHUNKS = b"".join(b"%x\r\n%s\r\n" % (4096, BODY[start : start + 4096]) for start in range(0, len(BODY), 4096))


@pytest.mark.parametrize(
    "framing", [b"Content-Length: 16384\r\n\r\n" + BODY, b"Transfer-Encoding: chunked\r\n\r\n" + CHUNKS + b"0\r\n\r\n"]
)
def test_a_transfer_that_ends_cleanly_is_cached(raw_server, framing):
    server = raw_server(HEAD + framing)
    path = mobilevit.download.download_checkpoint(f"{server.url}/models/model.pth", progress=False)
    assert path.read_bytes() == BODY and cache_files() == [str(path.relative_to(os.environ["MOBILEVIT_HOME"]))]


def test_a_hash_named_file_without_length_is_accepted_when_its_hash_matches(raw_server):
    name = f"weights-{hashlib.sha256(BODY).hexdigest()[:8]}.pth"
    server = raw_server(HEAD + b"\r\n" + BODY)
    assert mobilevit.download.download_checkpoint(f"{server.url}/{name}", progress=False).read_bytes() == BODY


def test_stale_partial_files_are_removed_and_live_ones_kept(raw_server):
    fcntl = pytest.importorskip("fcntl")
    server = raw_server(HEAD + b"Content-Length: 16384\r\n\r\n" + BODY)
    url = f"{server.url}/models/model.pth"
    destination = mobilevit.download.cached_path(url)
    destination.parent.mkdir(parents=True)
    stale, live, young = (destination.parent / f".model.pth.{name}.partial" for name in ("stale", "live", "young"))
    for partial in (stale, live, young):
        partial.write_bytes(b"half")
    for partial in (stale, live):
        os.utime(partial, (0, 0))  # untouched for decades
    with live.open("rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # a download still running in another process
        assert mobilevit.download.download_checkpoint(url, progress=False).read_bytes() == BODY
    assert not stale.exists() and live.exists() and young.exists()


def test_a_full_disk_during_a_download_says_so_and_leaves_no_partial_file(raw_server, monkeypatch):
    server = raw_server(HEAD + b"Content-Length: 16384\r\n\r\n" + BODY)
    real_fdopen = os.fdopen

    class FullFile:
        def __init__(self, file):
            self.file = file

        def __getattr__(self, name):
            return getattr(self.file, name)

        def __enter__(self):
            return self

        def __exit__(self, *args):
            self.file.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(mobilevit.download.os, "fdopen", lambda *args: FullFile(real_fdopen(*args)))
    with pytest.raises(OSError, match="no space left on .* while writing .*model.pth"):
        mobilevit.download.download_checkpoint(f"{server.url}/models/model.pth", progress=False)
    assert cache_files() == []


# --- damaged and malformed files -------------------------------------------------------------


def flip_bit(path, offset):
    data = bytearray(Path(path).read_bytes())
    data[offset] ^= 0x01
    Path(path).write_bytes(bytes(data))


def tensor_data_offset(path, name):
    """Where the bytes of a named tensor begin in a safetensors file."""
    data = Path(path).read_bytes()
    header_size = int.from_bytes(data[:8], "little")
    return 8 + header_size + json.loads(data[8 : 8 + header_size])[name]["data_offsets"][0]


def test_a_flipped_bit_in_a_zip_checkpoint_fails_its_crc(tmp_path, xxs_state):
    torch.save(xxs_state, tmp_path / "weights.pth")
    read_checkpoint(tmp_path / "weights.pth")
    flip_bit(tmp_path / "weights.pth", (tmp_path / "weights.pth").stat().st_size // 2)
    with pytest.raises(CheckpointError, match="weights.pth is corrupt: its record .*data/.* fails its CRC-32 check"):
        read_checkpoint(tmp_path / "weights.pth")


def test_a_flipped_bit_in_our_format_fails_its_sha256(tmp_path, xxs_state):
    path = save_checkpoint(tmp_path / "ours.safetensors", xxs_state, "xx_small")
    flip_bit(path, tensor_data_offset(path, "head.fc.bias") + 5)
    with pytest.raises(CheckpointError, match="ours.safetensors is corrupt: .*do not match the sha256"):
        read_checkpoint(path)


def test_our_format_is_written_atomically_and_a_full_disk_keeps_the_old_file(tmp_path, xxs_state, monkeypatch):
    path = save_checkpoint(tmp_path / "ours.safetensors", xxs_state, "xx_small")
    before = path.read_bytes()

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(mobilevit.integrity.os, "fsync", full)
    with pytest.raises(OSError, match=f"no space left on .* while writing {path}"):
        save_checkpoint(path, {key: value + 1 for key, value in xxs_state.items()}, "xx_small")
    assert path.read_bytes() == before and sorted(tmp_path.iterdir()) == [path]


def write_protocol_0_zip(path):
    """A zip-format file whose pickle is of protocol 0 and names a global."""
    torch.save({"a": collections.OrderedDict(b=1)}, path, pickle_protocol=0)


@pytest.mark.parametrize(
    "write, message",
    [
        (
            lambda path: path.write_text("hello, not a checkpoint\n"),
            "neither a zip-format PyTorch file nor a pickle of protocol 2 or higher \\(it starts with b'hello, n'\\)",
        ),
        (lambda path: path.write_bytes(pickle.dumps({"a": 1}, protocol=0)), "neither a zip-format PyTorch file"),
        (
            write_protocol_0_zip,
            "the safe unpickler does not understand it \\(Unsupported operand 100\\); the file is corrupt",
        ),
        (lambda path: path.write_bytes(b""), "neither a zip-format PyTorch file"),
    ],
)
def test_files_that_are_no_checkpoint_are_named(tmp_path, write, message):
    write(tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match=f"cannot read checkpoint .*bad.pth.*{message}"):
        read_checkpoint(tmp_path / "bad.pth")


def test_every_flipped_byte_of_a_legacy_pickle_header_is_a_clear_error_or_a_known_layout(tmp_path, xxs_state):
    # Legacy pickles carry no checksum: a flip may go unnoticed, but never as a raw exception.
    small = {key: value for key, value in xxs_state.items() if key.startswith("backbone.stem.")}
    torch.save(small, tmp_path / "legacy.pth", _use_new_zipfile_serialization=False)
    data = (tmp_path / "legacy.pth").read_bytes()
    for offset in range(0, 400, 7):
        damaged = bytearray(data)
        damaged[offset] ^= 0x10
        (tmp_path / "flipped.pth").write_bytes(bytes(damaged))
        try:
            read_checkpoint(tmp_path / "flipped.pth")
        except CheckpointError as error:
            assert "flipped.pth" in str(error) and "\n" not in str(error)


def save_with_header(path, state_dict, entry):
    safetensors.torch.save_file(state_dict, str(path), metadata={"mobilevit": json.dumps(entry)})


def good_entry(**changes):
    entry = {
        "format_version": 1,
        "arch": "xx_small",
        "num_classes": 2,
        "preprocessing": dataclasses.asdict(Preprocessing()),
        "source_layout": "mobilevit",
        "class_names": ["ant", "bee"],
    }
    entry.update(changes)
    return {key: value for key, value in entry.items() if value is not ...}


@pytest.mark.parametrize(
    "entry, message",
    [
        (["xx_small"], "must be a JSON object, got list"),
        (good_entry(class_names=3), "needs class_names, a list of strings; got 3"),
        (good_entry(class_names="ab"), "needs class_names, a list of strings; got 'ab'"),
        (good_entry(class_names=["ant"]), "has 1 class_names for num_classes 2"),
        (good_entry(format_version=7), "has format_version 7, newer than the 2 this mobilevit reads"),
        (good_entry(format_version="1"), "needs format_version, a positive integer; got '1'"),
        (good_entry(arch="huge"), "has an arch that cannot be read: unknown MobileViT arch 'huge'"),
        (good_entry(arch=...), "has no arch"),
        (good_entry(num_classes=0), "needs num_classes, a positive integer or null; got 0"),
        (
            good_entry(num_classes=3, class_names=["a", "b", "c"]),
            "header says num_classes 3, but the head .*\\(2, 320\\)",
        ),
        (good_entry(preprocessing={"crop_size": 256}), "has a bad preprocessing: expected an object with the keys"),
        (
            good_entry(preprocessing={**dataclasses.asdict(Preprocessing()), "channel_order": "XYZ"}),
            "channel_order must be RGB or BGR",
        ),
        (
            good_entry(preprocessing={**dataclasses.asdict(Preprocessing()), "mean": [0, 0]}),
            "mean must be a list of 3 numbers",
        ),
        (good_entry(source_layout=5), "needs source_layout, one of mobilevit, "),
        (good_entry(format_version=2), "needs sha256, 64 hex digits; got None"),
    ],
)
def test_a_malformed_header_entry_of_our_format_is_named(tmp_path, entry, message):
    state_dict = build_classifier("xx_small", num_classes=2).state_dict()
    save_with_header(tmp_path / "ours.safetensors", state_dict, entry)
    with pytest.raises(CheckpointError, match=f"ours.safetensors: the ('mobilevit' header entry .*)?{message}"):
        read_checkpoint(tmp_path / "ours.safetensors")


def test_a_format_1_file_without_sha256_reads_only_when_allowed_and_read_metadata_gives_its_entry(tmp_path):
    state_dict = build_classifier("xx_small", num_classes=2).state_dict()
    save_with_header(tmp_path / "old.safetensors", state_dict, good_entry())
    with pytest.raises(CheckpointError, match="old.safetensors: its 'mobilevit' header entry has no sha256"):
        read_checkpoint(tmp_path / "old.safetensors")
    allowed = read_checkpoint(tmp_path / "old.safetensors", allow_unverified=True)
    assert allowed.metadata["class_names"] == ["ant", "bee"]
    assert read_metadata(tmp_path / "old.safetensors") == json.loads(json.dumps(good_entry()))
    safetensors.torch.save_file(state_dict, str(tmp_path / "plain.safetensors"))
    assert read_metadata(tmp_path / "plain.safetensors") is None
    path = save_checkpoint(tmp_path / "new.safetensors", state_dict, "xx_small", class_names=("ant", "bee"))
    assert read_metadata(path)["format_version"] == 2 and len(read_metadata(path)["sha256"]) == 64


def test_save_checkpoint_refuses_class_names_that_are_a_string(tmp_path):
    state_dict = build_classifier("xx_small", num_classes=2).state_dict()
    with pytest.raises(ValueError, match="class_names must be a list of strings, got 'ab'"):
        save_checkpoint(tmp_path / "x.safetensors", state_dict, "xx_small", class_names="ab")


# --- imports ---------------------------------------------------------------------------------


def test_the_checkpoint_module_imports_without_the_zoo():
    # the package's __init__ imports everything, so a stand-in package lets only checkpoint's own imports run
    code = (
        f"import sys, types; package = types.ModuleType('mobilevit'); package.__path__ = "
        f"[{str(Path(mobilevit.__file__).parent)!r}]; sys.modules['mobilevit'] = package; "
        "import mobilevit.checkpoint; assert 'mobilevit.zoo' not in sys.modules, 'mobilevit.zoo was imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
