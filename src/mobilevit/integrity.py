"""Files written whole and read back verified: atomic writes, checksums, zip CRC checks.

A file is written under a temporary name and renamed over its destination only once complete
and synced, so a crash leaves the old file or the new one; on any failure the temporary file is
removed, and a full disk says so. The checkpoints we write carry a sha256 of their content
(:func:`payload_digest`, :func:`tensors_digest`), checked when they are read; zip-format PyTorch
files from elsewhere are checked against the CRC-32 of each record (:func:`first_bad_zip_record`).
Weights are checked finite (:func:`first_non_finite`) wherever they are read or written.
"""

from __future__ import annotations

import errno
import hashlib
import os
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import torch

from .errors import MobileViTError

# The errors of a write that found no room: the file system is full, or the user's quota is.
NO_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


class NoSpaceError(MobileViTError, OSError):
    """A file that could not be written because its file system is full."""


def no_space_error(path: Path) -> NoSpaceError:
    """The error of a write to ``path`` that ran out of space, naming the file system."""
    error = NoSpaceError(
        f"no space left on {mount_point(path.parent)} while writing {path}; free some space "
        "and run again (the temporary file was removed; what was there before is unchanged)"
    )
    error.errno = errno.ENOSPC
    return error


def mount_point(folder: Path) -> Path:
    """The mount point of the file system that holds ``folder``."""
    folder = Path(os.path.abspath(folder))
    while not os.path.ismount(folder) and folder != folder.parent:
        folder = folder.parent
    return folder


def write_atomic(path: Path, write: Callable[[BinaryIO], Any]) -> None:
    """Call ``write(file)`` on a temporary file next to ``path``, sync it, then rename it to ``path``.

    On any failure the temporary file is removed and ``path`` keeps its old content; a full disk
    raises :class:`NoSpaceError`.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.errno in NO_SPACE_ERRNOS:
            raise no_space_error(path) from error
        raise


def tensor_bytes(tensor: torch.Tensor) -> memoryview:
    """The raw bytes of a tensor's elements, in order (any dtype, any device)."""
    flat = tensor.detach().to("cpu").contiguous().reshape(-1)
    return memoryview(flat.view(torch.uint8).numpy())


def tensors_digest(tensors: Mapping[str, torch.Tensor], header: str = "") -> str:
    """The sha256 of named tensors (in name order: name, dtype, shape, bytes) and of ``header``."""
    sha256 = hashlib.sha256(header.encode())
    for name in sorted(tensors):
        _feed(sha256, name)
        _feed(sha256, tensors[name])
    return sha256.hexdigest()


def payload_digest(value: Any) -> str:
    """The sha256 of a nest of dicts, lists, tuples, tensors, strings, numbers and None.

    Types, keys and order count, so a value that loads back equal has the same digest, and one
    changed bit in a tensor, a number or a name gives another.
    """
    sha256 = hashlib.sha256()
    _feed(sha256, value)
    return sha256.hexdigest()


def _feed(sha256: Any, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        sha256.update(f"tensor {value.dtype} {tuple(value.shape)}\n".encode())
        sha256.update(tensor_bytes(value))
    elif isinstance(value, Mapping):
        sha256.update(f"dict {len(value)}\n".encode())
        for key, item in value.items():
            _feed(sha256, key)
            _feed(sha256, item)
    elif isinstance(value, (list, tuple)):
        sha256.update(f"{type(value).__name__} {len(value)}\n".encode())
        for item in value:
            _feed(sha256, item)
    elif value is None or isinstance(value, (bool, int, float, str)):
        text = repr(value).encode()
        sha256.update(f"{type(value).__name__} {len(text)}\n".encode() + text)
    else:
        raise TypeError(f"cannot take the digest of a {type(value).__name__}")


def first_non_finite(tensors: Mapping[str, Any]) -> str | None:
    """The name of the first floating-point tensor (in the mapping's order) holding NaN or inf, or None.

    Values that are not floating-point tensors (integer counters, anything else) are passed over.
    """
    for name, value in tensors.items():
        if isinstance(value, torch.Tensor) and (value.is_floating_point() or value.is_complex()):
            if not bool(torch.isfinite(value).all()):
                return str(name)
    return None


def describe_non_finite(tensor: torch.Tensor) -> str:
    """How many values of ``tensor`` are NaN and how many infinite, in words."""
    nan = int(torch.isnan(tensor).sum())
    infinite = int(torch.isinf(tensor).sum())
    return f"{nan} NaN and {infinite} infinite of {tensor.numel()} values"


def first_bad_zip_record(path: Path) -> str | None:
    """The name of the first record of a zip file whose bytes fail their CRC-32, or None.

    Records stored with a CRC of 0 (``torch.serialization.set_crc32_options(False)``) carry
    nothing to check and are passed over.
    """
    with zipfile.ZipFile(path) as archive:
        for record in archive.infolist():
            if record.CRC == 0 and record.file_size > 0:
                continue
            try:
                with archive.open(record) as stream:
                    while stream.read(1 << 20):
                        pass
            except zipfile.BadZipFile:
                return record.filename
    return None
