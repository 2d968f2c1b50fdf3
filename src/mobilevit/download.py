"""Downloading checkpoints into a local cache, with a progress bar and a hash check.

Files land in ``$MOBILEVIT_HOME/checkpoints/`` (default ``~/.cache/mobilevit``; see
:func:`cached_path`). A file is written under a temporary name (``.<name>.<random>.partial``) and
renamed only once complete and verified, so an interrupted or corrupted download never leaves a
file that a later run would trust. Complete means the transfer ended cleanly: as many bytes as the
Content-Length said, or the end of a chunked transfer; a response with neither is accepted only
for a file name carrying its sha256 prefix, which the bytes must then match. A partial file that
no process holds any more (its download was killed) is removed by the next download of that file.

A download is bounded in time: a read waits at most :data:`TIMEOUT_SECONDS`, the whole download
(connection, headers and body) at most :data:`DEADLINE_SECONDS`, and a download that receives fewer
than :data:`STALL_BYTES` in any :data:`STALL_SECONDS` is stalled; either ends it with a
:class:`DownloadError`. A downloaded file must be the format its name says (a ``.pth``, ``.pt``,
``.bin`` or ``.ckpt`` file a zip-format PyTorch file or a pickle; a ``.safetensors`` file a
safetensors header) before it is cached: an HTML error page served under a checkpoint's name is
refused and not kept, so the next call fetches again.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import secrets
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from .errors import MobileViTError
from .integrity import NO_SPACE_ERRNOS, no_space_error

try:
    import fcntl  # a download holds a lock on its partial file, so others can tell live from stale ones
except ImportError:  # Windows: stale partial files stay
    fcntl = None

# The file names of published checkpoints end in the first hex digits of their sha256
# (``mobilevit-small_3rdparty_in1k_20221018-cb4f741c.pth``).
_HASH_SUFFIX = re.compile(r"-([0-9a-f]{8,64})$")
_CHUNK_BYTES = 1 << 20
TIMEOUT_SECONDS = 30.0  # one connection attempt or read
DEADLINE_SECONDS = 2 * 3600.0  # the whole download
STALL_SECONDS = 60.0  # the window of the stall check ...
STALL_BYTES = 64 * 1024  # ... and what must arrive in each (about 1 KiB/s)
# The suffixes of pickled PyTorch checkpoints, whose files start as a zip archive or a pickle.
PICKLE_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt")
# A partial file unlocked and untouched this long belongs to a download that was killed (a live
# one locks its file at once and writes at least every TIMEOUT_SECONDS).
STALE_SECONDS = 60.0


class DownloadError(MobileViTError, OSError):
    """A checkpoint that could not be downloaded or failed its hash check."""


# How the caller takes a local file instead of the URL, in the words of where the user gave it (a
# config key, a command-line option); ``{path}`` stands for the file. Set with local_path_advice().
_LOCAL_PATH_ADVICE: ContextVar[str] = ContextVar(
    "local_path_advice", default="pass its local path instead of the URL ({path})"
)


@contextmanager
def local_path_advice(template: str) -> Iterator[None]:
    """Within the block, a failed download advises ``template`` (e.g. ``'set model.pretrained={path}'``)."""
    token = _LOCAL_PATH_ADVICE.set(template)
    try:
        yield
    finally:
        _LOCAL_PATH_ADVICE.reset(token)


def _advice(destination: Path) -> str:
    return _LOCAL_PATH_ADVICE.get().format(path=f"/path/to/{destination.name}")


def cache_dir() -> Path:
    """The cache root: ``$MOBILEVIT_HOME``, or ``~/.cache/mobilevit``."""
    return Path(os.environ.get("MOBILEVIT_HOME", "~/.cache/mobilevit")).expanduser()


def is_url(source: str | os.PathLike) -> bool:
    """Whether ``source`` is an http(s) URL rather than a local path."""
    return isinstance(source, str) and source.lower().startswith(("http://", "https://"))


def hash_prefix(filename: str) -> str | None:
    """The sha256 prefix a file name carries after its last '-' (8+ hex digits), or None."""
    match = _HASH_SUFFIX.search(Path(filename).stem)
    return match.group(1) if match else None


def cached_path(url: str) -> Path:
    """Where the cache keeps ``url``: ``checkpoints/<file name>`` for a name that carries its hash;
    a generic name (``model.safetensors``) goes in a folder named after the URL, as many URLs share it."""
    filename = _safe_filename(url)
    folder = cache_dir() / "checkpoints"
    if hash_prefix(filename) is None:
        folder = folder / hashlib.sha256(url.encode()).hexdigest()[:16]
    return folder / filename


def _safe_filename(url: str) -> str:
    """The last part of the URL's path, unquoted, as a file name of the cache: characters other than
    letters, digits and ``._+-`` become ``_`` and leading dots go (``%2e%2e`` names no file)."""
    name = urllib.parse.unquote(urllib.parse.urlsplit(url).path).rsplit("/", 1)[-1]
    name = re.sub(r"[^A-Za-z0-9._+-]", "_", name).lstrip(".")
    if not name:
        raise DownloadError(f"cannot tell a file name from the URL {url!r}; expected .../<name>.pth or similar")
    return name


def download_checkpoint(url: str, progress: bool = True) -> Path:
    """The cached copy of ``url``, downloaded on first use.

    A file name with a hash prefix is checked against the sha256 of the downloaded bytes; a
    mismatch deletes the download and raises :class:`DownloadError`.
    """
    destination = cached_path(url)
    filename = destination.name
    if destination.is_file():
        if format_problem(destination) is None:
            return destination
        destination.unlink(missing_ok=True)  # cached by an older mobilevit that did not check: fetched again
    destination.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(destination)
    handle, temporary = _create_partial(destination)
    try:
        try:
            with os.fdopen(handle, "wb") as file:
                if fcntl is not None:
                    fcntl.flock(file.fileno(), fcntl.LOCK_EX)
                digest, clean_end = _fetch(url, file, progress, destination)
        except DownloadError:
            raise
        except OSError as error:  # writing the partial file failed
            if error.errno in NO_SPACE_ERRNOS:
                raise no_space_error(destination) from error
            raise DownloadError(f"cannot write the download of {url} into {destination.parent}: {error}") from None
        expected = hash_prefix(filename)
        if expected is not None and not digest.startswith(expected):
            raise DownloadError(
                f"the file downloaded from {url} is corrupt: its sha256 is {digest}, but the file name "
                f"promises one starting with {expected}. The download was deleted; try again."
            )
        if expected is None and not clean_end:
            raise DownloadError(
                f"the server sent {url} with neither a Content-Length nor chunked encoding, so a download cut "
                "short cannot be told from a whole one, and the file name carries no sha256 prefix to check; "
                f"the download was not kept. Fetch the file yourself and {_advice(destination)}, or copy it to "
                f"{destination}."
            )
        problem = format_problem(Path(temporary), destination.name)
        if problem is not None:
            raise DownloadError(
                f"the file downloaded from {url} is not a checkpoint: {problem}. It was not kept; check the URL, "
                "or try again later"
            )
        os.replace(temporary, destination)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return destination


def remove_stale_partials(destination: Path) -> None:
    """Remove the partial files of ``destination`` left by downloads that were killed: those no
    process holds locked and none has written to for :data:`STALE_SECONDS`."""
    if fcntl is None:
        return
    for partial in destination.parent.glob(f".{destination.name}.*.partial"):
        try:
            with partial.open("rb") as file:
                if time.time() - os.fstat(file.fileno()).st_mtime < STALE_SECONDS:
                    continue
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # held by a live download: OSError
                partial.unlink()
        except OSError:
            continue


def format_problem(path: Path, name: str | None = None) -> str | None:
    """What makes the file at ``path`` not the format its name (``name``, else the path's) says, or None.

    Names other than those of pickled checkpoints and ``.safetensors`` are not checked.
    """
    suffix = Path(name or path.name).suffix.lower()
    if suffix not in (*PICKLE_SUFFIXES, ".safetensors"):
        return None
    with path.open("rb") as file:
        start = file.read(512)
        size = os.fstat(file.fileno()).st_size
        if suffix == ".safetensors":
            header_size = int.from_bytes(start[:8], "little") if len(start) >= 8 else 0
            if 2 <= header_size <= size - 8:
                file.seek(8)
                header = file.read(header_size)
                try:
                    if isinstance(json.loads(header), dict):
                        return None
                except (UnicodeDecodeError, json.JSONDecodeError):
                    pass
        elif start.startswith((b"PK\x03\x04", b"\x80")):  # a zip-format PyTorch file, a pickle of protocol 2+
            return None
    kind = "a safetensors file" if suffix == ".safetensors" else "a PyTorch checkpoint (zip or pickle)"
    looks = " (an HTML or XML page: the server answered with an error or login page)" if _is_html(start) else ""
    return f"its name says {kind}, but its {size} bytes start with {start[:32]!r}{looks}"


def _is_html(start: bytes) -> bool:
    text = start.lstrip().lower()
    return text.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body"))


class _Watchdog:
    """Ends a download that runs past :data:`DEADLINE_SECONDS` or receives fewer than
    :data:`STALL_BYTES` in a window of :data:`STALL_SECONDS`: it shuts the download's sockets
    down, which ends any read waiting on them (in the headers or the body)."""

    def __init__(self) -> None:
        self.received = 0  # bytes of the body so far, counted by the reader
        self.reason: str | None = None  # why the download was ended
        self._started = time.monotonic()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="mobilevit-download-watchdog", daemon=True)

    def __enter__(self) -> _Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exception: object) -> None:
        self._done.set()
        self._thread.join()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            ended = self.reason is not None
        if ended:
            _shut(sock)

    def _watch(self) -> None:
        window_start, window_bytes = self._started, 0
        while not self._done.wait(min(1.0, STALL_SECONDS / 4, DEADLINE_SECONDS / 4)):
            now = time.monotonic()
            if now - self._started > DEADLINE_SECONDS:
                self._end(f"took longer than the {DEADLINE_SECONDS:g} s allowed for a whole download")
                return
            if now - window_start >= STALL_SECONDS:
                arrived = self.received - window_bytes
                if arrived < STALL_BYTES:
                    self._end(
                        f"stalled: {arrived} bytes arrived in the last {now - window_start:.3g} s, fewer than "
                        f"the {STALL_BYTES} needed every {STALL_SECONDS:g} s"
                    )
                    return
                window_start, window_bytes = now, self.received

    def _end(self, reason: str) -> None:
        with self._lock:
            self.reason = f"{reason} ({self.received} bytes received)"
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed
        pass


def _open(url: str, watchdog: _Watchdog) -> http.client.HTTPResponse:
    """``urlopen(url)`` (proxies and redirects as usual) whose connections the watchdog can end."""

    class Connection(http.client.HTTPConnection):
        def connect(self) -> None:
            super().connect()
            watchdog.watch(self.sock)

    class SecureConnection(http.client.HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            watchdog.watch(self.sock)

    class Handler(urllib.request.HTTPHandler):
        def http_open(self, request: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(Connection, request)

    class SecureHandler(urllib.request.HTTPSHandler):
        def https_open(self, request: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(SecureConnection, request, context=self._context)

    return urllib.request.build_opener(Handler, SecureHandler).open(url, timeout=TIMEOUT_SECONDS)


def _fetch(url: str, file: BinaryIO, progress: bool, destination: Path) -> tuple[str, bool]:
    """Stream ``url`` into ``file`` within the time limits; return the sha256 hex digest of the
    bytes, and whether the transfer's end was marked (Content-Length reached or chunked transfer ended)."""
    with _Watchdog() as watchdog:
        try:
            return _transfer(url, file, progress, destination, watchdog)
        except DownloadError:
            if watchdog.reason is None:
                raise
        raise _ended(url, watchdog, destination)


def _ended(url: str, watchdog: _Watchdog, destination: Path) -> DownloadError:
    return DownloadError(
        f"the download of {url} {watchdog.reason}, so it was stopped and the partial file deleted; try again "
        f"later, or fetch the file another way and pass its local path (or copy it to {destination})"
    )


def _transfer(url: str, file: BinaryIO, progress: bool, destination: Path, watchdog: _Watchdog) -> tuple[str, bool]:
    sha256 = hashlib.sha256()
    try:
        response = _open(url, watchdog)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        if watchdog.reason is not None:
            raise _ended(url, watchdog, destination) from None
        reason = getattr(error, "reason", None) or error
        if isinstance(error, http.client.BadStatusLine) and not isinstance(error, ConnectionError):
            reason = f"the server's answer is no HTTP response ({error})"
        raise DownloadError(
            f"cannot download {url}: {reason}. If this machine is offline, fetch the file elsewhere and "
            f"{_advice(destination)}, or copy it to {destination}."
        ) from None
    with response:
        total = _content_length(response, url)
        if progress:  # one line for logs; the bar below shows only on a terminal (disable=None)
            print(f"downloading {url} to {destination}", file=sys.stderr)
        with tqdm(
            total=total,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            file=sys.stderr,
            desc=destination.name,
            disable=None if progress else True,
        ) as bar:
            received = 0
            for chunk in _chunks(response, url):
                file.write(chunk)
                sha256.update(chunk)
                received += len(chunk)
                watchdog.received = received
                bar.update(len(chunk))
        chunked = bool(getattr(response, "chunked", False))
    if watchdog.reason is not None:  # the watchdog's shutdown may read as a clean end
        raise _ended(url, watchdog, destination)
    if total is not None and received != total:
        raise DownloadError(f"the download of {url} stopped after {received} of {total} bytes; try again")
    return sha256.hexdigest(), total is not None or chunked


def _content_length(response: http.client.HTTPResponse, url: str) -> int | None:
    """The Content-Length of a response (None where it has none, as a chunked one)."""
    if getattr(response, "chunked", False):
        return None
    value = response.headers.get("Content-Length")
    if value is None:
        return None
    if not value.strip().isdigit():
        raise DownloadError(f"the server sent {url} with a bad Content-Length {value!r}; try again later")
    return int(value)


def _chunks(response: http.client.HTTPResponse, url: str) -> Iterator[bytes]:
    """The body of a response in pieces as they arrive (so the stall check sees each); a connection
    that breaks is a :class:`DownloadError`."""
    while True:
        try:
            chunk = response.read1(_CHUNK_BYTES)
        except (http.client.HTTPException, OSError) as error:
            if isinstance(error, http.client.IncompleteRead):
                reason = "the connection closed before the end of the chunked transfer"
            else:
                reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            raise DownloadError(
                f"the download of {url} broke off ({reason}); the partial file was deleted, try again"
            ) from None
        if not chunk:
            return
        yield chunk


def _create_partial(destination: Path) -> tuple[int, str]:
    """A new, empty temporary file beside ``destination`` with the permissions the user's umask gives
    (``tempfile.mkstemp`` makes them 0600, which the renamed download would keep)."""
    temporary = destination.with_name(f".{destination.name}.{secrets.token_hex(8)}.partial")
    return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), str(temporary)
