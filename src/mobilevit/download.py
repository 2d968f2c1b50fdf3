"""Downloading checkpoints into a local cache, with a progress bar and a hash check.

Files land in ``$MOBILEVIT_HOME/checkpoints/`` (default ``~/.cache/mobilevit``; see
:func:`cached_path`). A file is written under a temporary name (``.<name>.<random>.partial``) and
renamed only once complete and verified, so an interrupted or corrupted download never leaves a
file that a later run would trust. Complete means the transfer ended cleanly: as many bytes as the
Content-Length said, or the end of a chunked transfer; a response with neither is accepted only
for a file name carrying its sha256 prefix, which the bytes must then match. A partial file that
no process holds any more (its download was killed) is removed by the next download of that file.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import secrets
import sys
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

from .integrity import NO_SPACE_ERRNOS, no_space_error

try:
    import fcntl  # a download holds a lock on its partial file, so others can tell live from stale ones
except ImportError:  # Windows: stale partial files stay
    fcntl = None

# The file names of published checkpoints end in the first hex digits of their sha256
# (``mobilevit-small_3rdparty_in1k_20221018-cb4f741c.pth``).
_HASH_SUFFIX = re.compile(r"-([0-9a-f]{8,64})$")
_CHUNK_BYTES = 1 << 20
TIMEOUT_SECONDS = 30.0
# A partial file unlocked and untouched this long belongs to a download that was killed (a live
# one locks its file at once and writes at least every TIMEOUT_SECONDS).
STALE_SECONDS = 60.0


class DownloadError(OSError):
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
        return destination
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


def _fetch(url: str, file: BinaryIO, progress: bool, destination: Path) -> tuple[str, bool]:
    """Stream ``url`` into ``file``; return the sha256 hex digest of the bytes, and whether the
    transfer's end was marked (Content-Length reached or chunked transfer ended)."""
    sha256 = hashlib.sha256()
    try:
        response = urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
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
                bar.update(len(chunk))
        chunked = bool(getattr(response, "chunked", False))
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
    """The body of a response in pieces; a connection that breaks is a :class:`DownloadError`."""
    while True:
        try:
            chunk = response.read(_CHUNK_BYTES)
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
