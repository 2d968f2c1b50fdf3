"""Weights checked finite on every read, our format's digest required, and downloads bounded in
time and checked to be the format their name says before they are cached."""

import hashlib
import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest
import safetensors.torch
import torch

import mobilevit.download
from mobilevit.checkpoint import CheckpointError, read_checkpoint, read_metadata, save_checkpoint
from mobilevit.download import DownloadError, download_checkpoint
from mobilevit.models import build_classifier

# --- finite weights ----------------------------------------------------------------------------

BAD_KEY = "backbone.layers.2.1.global_rep.0.ln1.weight"  # a tensor well inside the model


@pytest.fixture(scope="module")
def state_dict():
    torch.manual_seed(0)
    return build_classifier("xx_small", num_classes=2).state_dict()


def poisoned(state_dict, value):
    bad = {key: tensor.clone() for key, tensor in state_dict.items()}
    bad[BAD_KEY][3] = value
    return bad


def write_our_format_unchecked(path, state_dict):
    """Our format with a correct digest, written around save_checkpoint's own refusal of NaN."""
    save_checkpoint(path, {key: torch.zeros_like(value) for key, value in state_dict.items()}, "xx_small")
    entry = read_metadata(path)
    entry.pop("sha256")
    entry["sha256"] = mobilevit.checkpoint._safetensors_digest(state_dict, entry)
    safetensors.torch.save_file(state_dict, str(path), metadata={"mobilevit": json.dumps(entry)})


LAYOUTS = {
    "ours": (lambda path, weights: write_our_format_unchecked(path, weights), "weights.safetensors", ""),
    "mmpretrain legacy pickle": (
        lambda path, weights: torch.save(
            {"meta": {"mmpretrain_version": "1.2.0"}, "state_dict": weights},
            path,
            _use_new_zipfile_serialization=False,
        ),
        "weights.pth",
        "",
    ),
    "training checkpoint": (
        lambda path, weights: torch.save({"model": weights, "ema": weights, "step": 3, "epoch": 1}, path),
        "latest.pth",
        r" \(its EMA weights\)",
    ),
    "bare state dict": (lambda path, weights: torch.save(weights, path), "bare.pth", ""),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("value, counts", [(float("nan"), "1 NaN and 0 infinite"), (float("inf"), "0 NaN and 1 inf")])
def test_weights_holding_nan_or_inf_are_refused_in_every_layout_naming_the_tensor(
    tmp_path, state_dict, layout, value, counts
):
    write, name, which = LAYOUTS[layout]
    write(tmp_path / name, poisoned(state_dict, value))
    with pytest.raises(CheckpointError) as error:
        read_checkpoint(tmp_path / name)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / name}")
    assert f"{which.replace(chr(92), '')}: the tensor {BAD_KEY} holds {counts}" in message
    assert "Use an earlier checkpoint" in message
    write(tmp_path / name, state_dict)  # the same file with finite weights reads
    assert torch.equal(read_checkpoint(tmp_path / name).state_dict[BAD_KEY], state_dict[BAD_KEY])


def test_save_checkpoint_refuses_to_write_weights_that_are_not_finite(tmp_path, state_dict):
    with pytest.raises(ValueError, match=f"not writing .*x.safetensors: the tensor {BAD_KEY} holds 1 NaN"):
        save_checkpoint(tmp_path / "x.safetensors", poisoned(state_dict, float("nan")), "xx_small")
    assert not (tmp_path / "x.safetensors").exists()


# --- our format's digest -----------------------------------------------------------------------


def rewrite_entry(path, change):
    """Rewrite our format's header entry through ``change``, and tamper with a weight."""
    weights = safetensors.torch.load_file(str(path))
    entry = read_metadata(path)
    change(entry)
    weights["head.fc.bias"] = weights["head.fc.bias"] + 1  # tampered weights
    safetensors.torch.save_file(weights, str(path), metadata={"mobilevit": json.dumps(entry)})


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda entry: entry.pop("sha256"), "the 'mobilevit' header entry needs sha256, 64 hex digits; got None"),
        (
            lambda entry: (entry.pop("sha256"), entry.update(format_version=1)),
            "its 'mobilevit' header entry has no sha256 .*cannot be verified.*MOBILEVIT_ALLOW_UNVERIFIED=1",
        ),
    ],
    ids=["digest removed", "digest removed and format_version set back"],
)
def test_our_format_without_its_digest_is_refused(tmp_path, state_dict, change, message):
    path = save_checkpoint(tmp_path / "ours.safetensors", state_dict, "xx_small")
    rewrite_entry(path, change)
    with pytest.raises(CheckpointError, match=f"ours.safetensors: {message}"):
        read_checkpoint(path)


def test_an_old_file_without_digest_reads_with_the_opt_in_and_saved_again_carries_one(
    tmp_path, state_dict, monkeypatch
):
    path = save_checkpoint(tmp_path / "old.safetensors", state_dict, "xx_small")
    rewrite_entry(path, lambda entry: (entry.pop("sha256"), entry.update(format_version=1)))
    allowed = read_checkpoint(path, allow_unverified=True)
    assert torch.equal(allowed.state_dict["head.fc.bias"], state_dict["head.fc.bias"] + 1)
    monkeypatch.setenv("MOBILEVIT_ALLOW_UNVERIFIED", "1")  # the opt-in of the command line
    checkpoint = read_checkpoint(path)
    monkeypatch.setenv("MOBILEVIT_ALLOW_UNVERIFIED", "0")
    with pytest.raises(CheckpointError, match="has no sha256"):
        read_checkpoint(path)
    again = save_checkpoint(tmp_path / "again.safetensors", checkpoint.state_dict, "xx_small")
    assert read_metadata(again)["format_version"] == 2 and read_checkpoint(again).layout == "mobilevit"


# --- downloads ---------------------------------------------------------------------------------


class ScriptedServer:
    """A server on 127.0.0.1 that answers each connection with ``respond(connection, stop)``."""

    def __init__(self, respond):
        self.respond = respond
        self.stop = threading.Event()
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.requests = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except OSError:  # closed
                return
            self.requests += 1
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection):
        with connection:
            request = b""
            while b"\r\n\r\n" not in request and (data := connection.recv(4096)):
                request += data
            try:
                self.respond(connection, self.stop)
            except OSError:  # the client went away
                pass

    def close(self):
        self.stop.set()
        self.socket.close()


@pytest.fixture()
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("MOBILEVIT_HOME", str(tmp_path / "home"))
    servers = []

    def start(respond):
        servers.append(ScriptedServer(respond))
        return servers[-1]

    yield start
    for each in servers:
        each.close()


def cache_files():
    home = Path(os.environ["MOBILEVIT_HOME"])
    return sorted(str(path.relative_to(home)) for path in home.rglob("*") if path.is_file())


def drip(data, every):
    """Send ``data`` a byte at a time, one every ``every`` seconds, until stopped."""

    def respond(connection, stop):
        for byte in data:
            if stop.wait(every):
                return
            connection.sendall(bytes([byte]))

    return respond


def answer(*parts):
    def respond(connection, stop):
        for part in parts:
            connection.sendall(part)

    return respond


BODY = b"\x80\x04" + bytes(range(256)) * 40  # starts as a pickle of protocol 4 does
HEADERS = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"


@pytest.fixture()
def short_limits(monkeypatch):
    monkeypatch.setattr(mobilevit.download, "STALL_SECONDS", 0.4)
    monkeypatch.setattr(mobilevit.download, "STALL_BYTES", 1000)
    monkeypatch.setattr(mobilevit.download, "DEADLINE_SECONDS", 30.0)


@pytest.mark.parametrize(
    "respond",
    [
        # 50 bytes a second for 10 s at most (so that a regression fails rather than hangs)
        drip(HEADERS % 10**6 + b"\x80" * 500, every=0.02),  # in the body
        drip(b"HTTP/1.1 200 OK\r\n" + b"X-Padding: " + b"a" * 500, every=0.02),  # in the headers
    ],
    ids=["body", "headers"],
)
def test_a_server_that_drips_bytes_is_stopped_as_stalled(server, short_limits, respond):
    source = server(respond)
    started = time.monotonic()
    with pytest.raises(DownloadError, match=r"of .*/model\.pth stalled: \d+ bytes arrived in the last .* s, fewer "):
        download_checkpoint(f"{source.url}/models/model.pth", progress=False)
    assert time.monotonic() - started < 5.0
    assert cache_files() == []


def test_a_download_that_keeps_going_is_stopped_at_the_deadline(server, short_limits, monkeypatch):
    monkeypatch.setattr(mobilevit.download, "DEADLINE_SECONDS", 1.0)

    def steady(connection, stop):  # 40 KB/s, well above the stall limit, for 10 s
        connection.sendall(HEADERS % 10**9 + b"\x80")
        for _ in range(200):
            if stop.wait(0.05):
                return
            connection.sendall(b"\x00" * 2000)

    source = server(steady)
    started = time.monotonic()
    with pytest.raises(DownloadError, match=r"took longer than the 1 s allowed for a whole download \(\d+ bytes"):
        download_checkpoint(f"{source.url}/models/model.pth", progress=False)
    assert time.monotonic() - started < 5.0
    assert cache_files() == []


HTML = b"<!DOCTYPE html>\n<html><body>Sign in to continue</body></html>\n"


def test_an_html_page_under_a_checkpoint_name_is_not_cached_and_the_next_call_fetches_again(server):
    responses = [answer(HEADERS % len(HTML), HTML), answer(HEADERS % len(BODY), BODY)]
    source = server(lambda connection, stop: responses.pop(0)(connection, stop))
    url = f"{source.url}/models/model.pth"
    with pytest.raises(
        DownloadError, match=r"model\.pth is not a checkpoint: .* start with b.<!DOCTYPE html>.*HTML or XML page"
    ):
        download_checkpoint(url, progress=False)
    assert cache_files() == []
    assert download_checkpoint(url, progress=False).read_bytes() == BODY
    assert source.requests == 2


def test_a_safetensors_name_with_other_content_is_refused(server, state_dict, tmp_path):
    good = save_checkpoint(tmp_path / "good.safetensors", state_dict, "xx_small").read_bytes()
    for content, message in (
        (BODY, "its name says a safetensors file, but its 10242 bytes start with b'\\\\x80\\\\x04"),
        (good[:100], "its name says a safetensors file"),  # a header longer than the file
    ):
        source = server(answer(HEADERS % len(content), content))
        with pytest.raises(DownloadError, match=message):
            download_checkpoint(f"{source.url}/weights/model.safetensors", progress=False)
        assert cache_files() == []
    source = server(answer(HEADERS % len(good), good))
    path = download_checkpoint(f"{source.url}/weights/model.safetensors", progress=False)
    assert torch.equal(read_checkpoint(path).state_dict[BAD_KEY], state_dict[BAD_KEY])


def test_a_hash_named_html_page_is_refused_too_and_a_page_cached_before_is_fetched_again(server):
    digest = hashlib.sha256(HTML).hexdigest()[:8]
    source = server(answer(HEADERS % len(HTML), HTML))
    with pytest.raises(DownloadError, match="HTML or XML page"):
        download_checkpoint(f"{source.url}/weights-{digest}.pth", progress=False)
    good = server(answer(HEADERS % len(BODY), BODY))
    url = f"{good.url}/models/model.pth"
    cached = mobilevit.download.cached_path(url)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(HTML)  # left by a mobilevit that did not check
    assert download_checkpoint(url, progress=False).read_bytes() == BODY and good.requests == 1
