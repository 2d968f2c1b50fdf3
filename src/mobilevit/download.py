"""Downloading checkpoints into a local cache, with a progress bar and a hash check.

Files land in ``$MOBILEVIT_HOME/checkpoints/`` (default ``~/.cache/mobilevit``; see
:func:`cached_path`). A file is written under a temporary name and renamed only once complete and
verified, so an interrupted or corrupted download never leaves a file that a later run would trust.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

# The file names of published checkpoints end in the first hex digits of their sha256
# (``mobilevit-small_3rdparty_in1k_20221018-cb4f741c.pth``).
_HASH_SUFFIX = re.compile(r"-([0-9a-f]{8,64})$")
_CHUNK_BYTES = 1 << 20
TIMEOUT_SECONDS = 30.0


class DownloadError(OSError):
    """A checkpoint that could not be downloaded or failed its hash check."""


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
    filename = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
    if not filename:
        raise DownloadError(f"cannot tell a file name from the URL {url!r}; expected .../<name>.pth or similar")
    folder = cache_dir() / "checkpoints"
    if hash_prefix(filename) is None:
        folder = folder / hashlib.sha256(url.encode()).hexdigest()[:16]
    return folder / filename


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
    handle, temporary = _create_partial(destination)
    try:
        with os.fdopen(handle, "wb") as file:
            digest = _fetch(url, file, progress, destination)
        expected = hash_prefix(filename)
        if expected is not None and not digest.startswith(expected):
            raise DownloadError(
                f"the file downloaded from {url} is corrupt: its sha256 is {digest}, but the file name "
                f"promises one starting with {expected}. The download was deleted; try again.")
        os.replace(temporary, destination)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return destination


def _fetch(url: str, file: BinaryIO, progress: bool, destination: Path) -> str:
    """Stream ``url`` into ``file``; return the sha256 hex digest of the bytes."""
    sha256 = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            if progress:  # one line for logs; the bar below shows only on a terminal (disable=None)
                print(f"downloading {url} to {destination}", file=sys.stderr)
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr,
                      desc=destination.name, disable=None if progress else True) as bar:
                received = 0
                while chunk := response.read(_CHUNK_BYTES):
                    file.write(chunk)
                    sha256.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise DownloadError(
            f"cannot download {url}: {reason}. If this machine is offline, fetch the file elsewhere and "
            f"pass its local path instead (for example --checkpoint /path/to/{destination.name}), or copy "
            f"it to {destination}.") from None
    if total is not None and received != total:
        raise DownloadError(f"the download of {url} stopped after {received} of {total} bytes; try again")
    return sha256.hexdigest()


def _create_partial(destination: Path) -> tuple[int, str]:
    """A new, empty temporary file beside ``destination`` with the permissions the user's umask gives
    (``tempfile.mkstemp`` makes them 0600, which the renamed download would keep)."""
    temporary = destination.with_name(f".{destination.name}.{secrets.token_hex(8)}.partial")
    return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), str(temporary)
