"""Reading, loading and saving checkpoints.

A checkpoint is a local file, a directory holding one (``save_pretrained`` output), an http(s)
URL (downloaded once into the cache, see :mod:`mobilevit.download`) or an ``hf-hub:<org>/<repo>``
name (fetched by huggingface_hub, see :mod:`mobilevit.hub`). Its layout (ours,
mmpretrain, ml-cvnets, timm, Hugging Face) is recognised and mapped onto ours by
:mod:`mobilevit.convert`.

Pickled checkpoints are read with torch's restricted unpickler and never run code. Training
checkpoints often carry more than tensors beside the weights (numpy scalars and arrays, objects
of the training framework such as a message hub): numpy's array and scalar reconstructors are
allowed, and any other class the file names is replaced by an inert stand-in that only keeps the
pickled state. A file that asks to *call* such a global (the way a malicious pickle runs
``os.system``) is refused.

A zip-format PyTorch file is checked against the CRC-32 of each of its records before it is
unpickled; one of our training checkpoints also carries the sha256 of its content (under
``sha256``), checked after. Legacy (non-zip) pickles carry no checksum and cannot be verified.

Our own format is a safetensors file whose header carries a ``mobilevit`` entry: a JSON object
with ``format_version``, ``arch``, ``num_classes``, ``preprocessing``, ``source_layout``,
optionally ``class_names``, and (since format version 2) ``sha256``, the digest of the tensors
and the rest of the entry. :func:`read_metadata` reads and checks that entry. A file whose entry
carries no digest (format version 1, or one whose digest was removed) cannot be verified and is
refused unless the caller opts in (``allow_unverified=True``, or ``MOBILEVIT_ALLOW_UNVERIFIED=1``
in the environment) to read an old file once and save it again.

Weights holding NaN or inf are refused on every read, in every layout, naming the first such tensor.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import re
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from safetensors.torch import save as serialize_safetensors
from torch import nn

from .convert import LAYOUTS, TRAINING_ONLY_PREFIXES, CheckpointError, detect_layout, num_classes_of, to_mobilevit
from .data.transforms import Preprocessing
from .download import download_checkpoint, is_url
from .errors import UsageError
from .hub import download as download_from_hub
from .hub import is_hub_name
from .integrity import (
    describe_non_finite,
    first_bad_zip_record,
    first_non_finite,
    payload_digest,
    tensors_digest,
    write_atomic,
)
from .models import resolve_arch

FORMAT_VERSION = 2  # 2: the header entry carries a sha256; 1: without (read only with allow_unverified)
METADATA_KEY = "mobilevit"
DIGEST_KEY = "sha256"  # of our training checkpoints' content, and in our format's header entry
# Set to 1, it lets every read of our format take a file whose header entry has no sha256.
ALLOW_UNVERIFIED_VARIABLE = "MOBILEVIT_ALLOW_UNVERIFIED"
# What read_checkpoint may give as a layout (its container for our own weights), and so what
# save_checkpoint records as the source of converted weights.
SOURCE_LAYOUTS = (*LAYOUTS, "training")
# Where a checkpoint directory (save_pretrained output) keeps its weights, in order of preference.
DIRECTORY_FILES = ("model.safetensors", "pytorch_model.bin", "model.pth", "weights.safetensors")
# Keys that hold the weights in other frameworks' checkpoints (mmengine's state_dict first).
_STATE_DICT_KEYS = ("state_dict", "model", "model_state_dict")

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "LoadReport",
    "LoadedWeights",
    "UnsafeCheckpointError",
    "check_digest",
    "check_finite",
    "load_checkpoint",
    "load_weights",
    "read_checkpoint",
    "read_metadata",
    "read_pickle",
    "resolve_checkpoint",
    "save_checkpoint",
]


class UnsafeCheckpointError(CheckpointError):
    """A pickled checkpoint that would run code when loaded."""


@dataclass(frozen=True)
class Checkpoint:
    """Weights in our layout and where they came from.

    ``layout`` is the layout the file was in; ``metadata`` what the file says beside the weights:
    our format's header entry, or for one of our training checkpoints its ``class_names``, its
    resolved ``config`` and which ``weights`` were taken (``ema`` when the run kept an EMA, else ``model``).
    """

    state_dict: dict[str, torch.Tensor]
    layout: str
    path: Path
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadReport:
    """What :func:`load_checkpoint` loaded, and the head keys it skipped (``strict_head=False``)."""

    path: Path
    layout: str
    metadata: dict[str, Any]
    skipped: tuple[str, ...] = ()


def resolve_checkpoint(source: str | os.PathLike) -> Path:
    """The local file of a checkpoint path, directory, URL or ``hf-hub:`` name (downloading once)."""
    if is_hub_name(source):
        return download_from_hub(source).weights
    if is_url(source):
        return download_checkpoint(str(source))
    path = Path(source).expanduser()
    if path.is_dir():
        for name in DIRECTORY_FILES:
            if (path / name).is_file():
                return path / name
        raise FileNotFoundError(f"no checkpoint in directory {path}: expected one of {', '.join(DIRECTORY_FILES)}")
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path} (expected a file, a directory or an http(s) URL)")
    return path


def read_checkpoint(
    source: str | os.PathLike, training_weights: str = "ema", allow_unverified: bool | None = None
) -> Checkpoint:
    """Read a checkpoint of any known layout and map it onto our parameter names.

    From one of our training checkpoints, ``training_weights`` picks the EMA weights (``'ema'``,
    what the recipe reports; the raw weights where the run kept no EMA) or the raw ``'model'``.
    A file of our format without its sha256 is refused unless ``allow_unverified`` is True (None:
    whether ``MOBILEVIT_ALLOW_UNVERIFIED=1`` is set). Weights holding NaN or inf are refused.
    """
    if training_weights not in ("ema", "model"):
        raise UsageError(f"training_weights must be 'ema' or 'model', got {training_weights!r}")
    if allow_unverified is None:
        allow_unverified = os.environ.get(ALLOW_UNVERIFIED_VARIABLE, "") == "1"
    if is_hub_name(source):  # the repository's configs add class names and preprocessing to the weights
        hub = download_from_hub(source)
        checkpoint = read_checkpoint(hub.weights, training_weights, allow_unverified)
        return dataclasses.replace(checkpoint, metadata={**hub.metadata, **checkpoint.metadata})
    path = resolve_checkpoint(source)
    if path.suffix == ".safetensors":
        state_dict, metadata = _read_safetensors(path, allow_unverified)
        container = "safetensors"
        check_finite(state_dict, str(path))
    else:
        state_dict, container, metadata = _unwrap(read_pickle(path), path, training_weights)
        which = {"ema": " (its EMA weights)", "model": " (its weights)"}.get(metadata.get("weights"), "")
        check_finite(state_dict, f"{path}{which}")
    try:
        layout = detect_layout(state_dict)
    except CheckpointError as error:
        raise CheckpointError(f"{path}: {error}") from None
    try:
        converted = to_mobilevit(state_dict, layout)
    except CheckpointError as error:
        raise CheckpointError(f"{path} ({layout} layout): {error}") from None
    if layout == "mobilevit" and container in ("mmpretrain", "training"):
        layout = container
    return Checkpoint(converted, layout, path, metadata)


def load_checkpoint(model: nn.Module, source: str | os.PathLike | Checkpoint, strict_head: bool = True) -> LoadReport:
    """Load a checkpoint into ``model``, every key and shape matching.

    With ``strict_head=False`` the classification head (``head.*``) is skipped where the
    checkpoint's differs in shape or is absent, for fine-tuning on another number of classes; the
    skipped keys are returned and warned about. Everything else must still match. A checkpoint's
    training-only modules (a segmenter's auxiliary head, ``aux_head.*``) are left out where the
    model has none, as a model for inference has not.
    """
    if getattr(getattr(model, "backbone", model), "fused", False):
        raise UsageError(
            "cannot load weights into a fused model (its BatchNorms are folded away by fuse() or "
            "init_model(..., fuse=True)): load them first, then fuse()"
        )
    checkpoint = source if isinstance(source, Checkpoint) else read_checkpoint(source)
    ours = model.state_dict()
    state_dict = {  # a model built for inference has no training-only module
        key: value
        for key, value in checkpoint.state_dict.items()
        if key in ours or not key.startswith(TRAINING_ONLY_PREFIXES)
    }
    skipped: list[str] = []
    if not strict_head:
        for key in sorted(set(ours) | set(state_dict)):
            if key.startswith(("head.", *TRAINING_ONLY_PREFIXES)) and (
                key not in ours or key not in state_dict or state_dict[key].shape != ours[key].shape
            ):
                skipped.append(key)
                state_dict.pop(key, None)
    _check_fits(ours, state_dict, set(skipped), checkpoint)
    model.load_state_dict(state_dict, strict=not skipped)
    if skipped:
        details = ", ".join(
            f"{key} (checkpoint {describe_shape(checkpoint.state_dict.get(key))}, model {describe_shape(ours.get(key))})"
            for key in skipped
        )
        warnings.warn(f"not loaded from {checkpoint.path}, left as initialised: {details}", stacklevel=2)
    return LoadReport(checkpoint.path, checkpoint.layout, checkpoint.metadata, tuple(skipped))


@dataclass(frozen=True)
class LoadedWeights:
    """What was loaded, in words, and the class names a training checkpoint carries."""

    description: str
    class_names: tuple[str, ...] = ()


def load_weights(model: nn.Module, checkpoint: str | os.PathLike, weights: str = "ema") -> LoadedWeights:
    """Load a checkpoint into ``model`` for evaluation.

    Our training checkpoints give their EMA weights (the recipe reports the EMA model) unless
    ``weights='model'`` or the run kept no EMA; any other checkpoint (path, directory or URL, in
    any layout :mod:`mobilevit.checkpoint` knows) is loaded as it is.
    """
    report = load_checkpoint(model, read_checkpoint(checkpoint, training_weights=weights))
    metadata = report.metadata
    if report.layout != "training":
        return LoadedWeights(f"{report.layout} weights of {report.path}", tuple(metadata.get("class_names", ())))
    which = "EMA weights" if metadata["weights"] == "ema" else "weights"
    description = f"{which} of {report.path}, epoch {metadata['epoch']}, step {metadata['step']}"
    return LoadedWeights(description, tuple(metadata.get("class_names", ())))


def save_checkpoint(
    path: str | os.PathLike,
    state_dict: Mapping[str, torch.Tensor],
    arch: str | Sequence,
    preprocessing: Preprocessing = Preprocessing(),
    source_layout: str = "mobilevit",
    class_names: Sequence[str] | None = None,
    task: str | None = None,
    **settings: Any,
) -> Path:
    """Write weights in our format: a safetensors file with our metadata in its header, atomically.

    The header entry carries the sha256 of the tensors and of the rest of the entry, checked
    whenever the file is read. ``task`` names the model's task; ``settings`` are those that shape
    no tensor, so the weights cannot tell them (a segmenter's ``output_stride`` and
    ``atrous_rates``, a detector's decoding settings: ``Task.settings_of``).
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        raise UsageError(f"our checkpoint format is a .safetensors file; got {path}")
    num_classes = num_classes_of(state_dict)
    if class_names is not None:
        if isinstance(class_names, str) or not all(isinstance(name, str) for name in class_names):
            raise UsageError(f"class_names must be a list of strings, got {class_names!r}")
        if len(class_names) != num_classes:
            head = state_dict.get("head.fc.weight", state_dict.get("head.classifier.weight"))
            raise UsageError(f"{len(class_names)} class names for a head of {describe_shape(head)}")
    metadata = {
        "format_version": FORMAT_VERSION,
        "arch": arch if isinstance(arch, str) else [_stage_as_list(stage) for stage in arch],
        "num_classes": num_classes,
        "preprocessing": preprocessing_header(preprocessing),
        "source_layout": source_layout,
    }
    if class_names is not None:
        metadata["class_names"] = list(class_names)
    if task is not None:
        metadata["task"] = task
    reserved = sorted(set(settings) & set(metadata))
    if reserved:
        raise UsageError(f"settings cannot overwrite the header's own fields: {', '.join(reserved)}")
    metadata.update({key: value for key, value in settings.items() if value is not None})
    bad = first_non_finite(state_dict)
    if bad is not None:
        raise UsageError(f"not writing {path}: the tensor {bad} holds {describe_non_finite(state_dict[bad])}")
    tensors = {key: value.detach().cpu().contiguous() for key, value in state_dict.items()}
    metadata[DIGEST_KEY] = _safetensors_digest(tensors, metadata)
    data = serialize_safetensors(tensors, metadata={METADATA_KEY: json.dumps(metadata)})
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda file: file.write(data))  # follows the umask, as save_file's 0600 would not
    return path


def check_finite(tensors: Mapping[str, Any], source: str) -> None:
    """Refuse weights holding NaN or inf: a :class:`CheckpointError` naming ``source`` and the first such tensor."""
    name = first_non_finite(tensors)
    if name is not None:
        raise CheckpointError(
            f"{source}: the tensor {name} holds {describe_non_finite(tensors[name])}; weights that are not "
            "finite give meaningless results (the run that wrote them diverged, or the file was altered). "
            "Use an earlier checkpoint"
        )


def _safetensors_digest(tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, Any]) -> str:
    """The sha256 of our format: the tensors and the header entry without its digest."""
    entry = {key: value for key, value in metadata.items() if key != DIGEST_KEY}
    return tensors_digest(tensors, header=json.dumps(entry, sort_keys=True))


def _stage_as_list(stage: Any) -> list:
    """A stage dataclass in the list form that :func:`mobilevit.models.resolve_arch` reads back."""
    if not dataclasses.is_dataclass(stage):
        return list(stage)
    kind = "mobilevit" if hasattr(stage, "transformer_dim") else "mobilenetv2"
    return [kind, *dataclasses.astuple(stage)]


def _check_fits(
    ours: Mapping[str, torch.Tensor], theirs: Mapping[str, torch.Tensor], skipped: set[str], checkpoint: Checkpoint
) -> None:
    missing = sorted(set(ours) - set(theirs) - skipped)
    unexpected = sorted(set(theirs) - set(ours))
    mismatched = [
        f"{key}: checkpoint {describe_shape(theirs[key])}, model {describe_shape(ours[key])}"
        for key in ours
        if key in theirs and theirs[key].shape != ours[key].shape
    ]
    if missing or unexpected or mismatched:
        hint = ""
        if all(key.startswith("head.") for key in missing + unexpected + [m.split(":")[0] for m in mismatched]):
            hint = " Only the head differs: pass strict_head=False to fine-tune on other classes."
        raise CheckpointError(
            f"checkpoint {checkpoint.path} ({checkpoint.layout} layout) does not match the model: "
            f"{len(missing)} missing keys {missing[:5]}, {len(unexpected)} unexpected keys {unexpected[:5]}, "
            f"{len(mismatched)} shape mismatches {mismatched[:5]}.{hint}"
        )


def describe_shape(tensor: torch.Tensor | None) -> str:
    """A tensor's shape as errors name it, or ``absent``."""
    return "absent" if tensor is None else str(tuple(tensor.shape))


def read_metadata(path: str | os.PathLike) -> dict[str, Any] | None:
    """The ``mobilevit`` header entry of a .safetensors file, checked field by field; None when the
    file has none (a safetensors file from elsewhere). Reads the header only."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as file:
            header = file.metadata() or {}
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"cannot read safetensors file {path}: {error}") from None
    if METADATA_KEY not in header:
        return None
    try:
        metadata = json.loads(header[METADATA_KEY])
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: the {METADATA_KEY!r} header entry is not valid JSON: {error}") from None
    problem = _metadata_problem(metadata)
    if problem:
        raise CheckpointError(f"{path}: the {METADATA_KEY!r} header entry {problem}")
    return metadata


def _metadata_problem(metadata: Any) -> str | None:
    """What is wrong with our format's header entry, or None."""
    if not isinstance(metadata, dict):
        return f"must be a JSON object, got {type(metadata).__name__}"
    version = metadata.get("format_version")
    if not _is_int(version) or version < 1:
        return f"needs format_version, a positive integer; got {version!r}"
    if version > FORMAT_VERSION:
        return f"has format_version {version}, newer than the {FORMAT_VERSION} this mobilevit reads: upgrade mobilevit"
    if "arch" not in metadata:
        return "has no arch"
    try:
        resolve_arch(metadata["arch"])
    except (ValueError, TypeError) as error:
        return f"has an arch that cannot be read: {error}"
    num_classes = metadata.get("num_classes")
    if num_classes is not None and not (_is_int(num_classes) and num_classes > 0):
        return f"needs num_classes, a positive integer or null; got {num_classes!r}"
    problem = _preprocessing_problem(metadata.get("preprocessing"))
    if problem:
        return f"has a bad preprocessing: {problem}"
    if metadata.get("source_layout") not in SOURCE_LAYOUTS:
        return f"needs source_layout, one of {', '.join(SOURCE_LAYOUTS)}; got {metadata.get('source_layout')!r}"
    if "task" in metadata and not isinstance(metadata["task"], str):
        return f"needs task, a string; got {metadata['task']!r}"
    if "class_names" in metadata:
        names = metadata["class_names"]
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            return f"needs class_names, a list of strings; got {names!r:.80}"
        if len(names) != num_classes:
            return f"has {len(names)} class_names for num_classes {num_classes}"
    digest = metadata.get(DIGEST_KEY)
    well_formed = isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)
    if (digest is not None or version >= 2) and not well_formed:
        return f"needs {DIGEST_KEY}, 64 hex digits; got {digest!r}"
    return None


# Preprocessing fields added after format version 2's first files: written only when not their default,
# so that a file without them reads as before (and older mobilevit reads the files that do not use them).
OPTIONAL_PREPROCESSING = {"size_multiple": 0}


def preprocessing_header(preprocessing: Preprocessing) -> dict[str, Any]:
    """The header's ``preprocessing``: every field, the optional ones only when they are not their default."""
    fields = dataclasses.asdict(preprocessing)
    return {
        key: value
        for key, value in fields.items()
        if key not in OPTIONAL_PREPROCESSING or value != OPTIONAL_PREPROCESSING[key]
    }


def _preprocessing_problem(preprocessing: Any) -> str | None:
    fields = [field.name for field in dataclasses.fields(Preprocessing)]
    required = [name for name in fields if name not in OPTIONAL_PREPROCESSING]
    if not isinstance(preprocessing, dict) or not set(required) <= set(preprocessing) <= set(fields):
        return f"expected an object with the keys {', '.join(fields)}; got {preprocessing!r:.120}"
    multiple = preprocessing.get("size_multiple", 0)
    if not (_is_int(multiple) and multiple >= 0):
        return f"size_multiple must be an integer of 0 or more; got {multiple!r}"
    if not all(_is_int(preprocessing[key]) and preprocessing[key] > 0 for key in ("resize_short", "crop_size")):
        return "resize_short and crop_size must be positive integers"
    if preprocessing["channel_order"] not in ("RGB", "BGR"):
        return f"channel_order must be RGB or BGR; got {preprocessing['channel_order']!r}"
    if not isinstance(preprocessing["interpolation"], str):
        return f"interpolation must be a string; got {preprocessing['interpolation']!r}"
    for key in ("mean", "std"):
        values = preprocessing[key]
        if not (
            isinstance(values, list)
            and len(values) == 3
            and all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values)
        ):
            return f"{key} must be a list of 3 numbers; got {values!r}"
    if 0 in preprocessing["std"]:
        return f"std must not be 0; got {preprocessing['std']}"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _read_safetensors(path: Path, allow_unverified: bool) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    metadata = read_metadata(path)
    try:
        state_dict = load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"cannot read safetensors file {path}: {error}") from None
    if metadata is None:
        return state_dict, {}
    if DIGEST_KEY in metadata and _safetensors_digest(state_dict, metadata) != metadata[DIGEST_KEY]:
        raise CheckpointError(
            f"{path} is corrupt: its tensors or header do not match the sha256 its header "
            "records (the file was damaged after it was written); copy or convert it again"
        )
    if metadata.get("num_classes") != num_classes_of(state_dict):
        head_key = next(
            (key for key in ("head.fc.weight", "head.classifier.weight") if key in state_dict), "head.fc.weight"
        )
        raise CheckpointError(
            f"{path}: the header says num_classes {metadata.get('num_classes')}, but the head "
            f"{head_key} is {describe_shape(state_dict.get(head_key))}"
        )
    if DIGEST_KEY not in metadata and not allow_unverified:
        raise CheckpointError(
            f"{path}: its {METADATA_KEY!r} header entry has no {DIGEST_KEY} (format_version "
            f"{metadata['format_version']}: written by a mobilevit older than format {FORMAT_VERSION}, or its "
            "digest was removed), so its weights cannot be verified. If you trust the file, read it once with "
            f"{ALLOW_UNVERIFIED_VARIABLE}=1 set (or read_checkpoint(..., allow_unverified=True)) and save it "
            "again: mobilevit convert, or save_checkpoint, writes the digest"
        )
    return state_dict, metadata


def _unwrap(content: Any, path: Path, training_weights: str) -> tuple[dict[str, torch.Tensor], str, dict[str, Any]]:
    """The state dict inside a loaded checkpoint, the kind of container it came in, and metadata."""
    container, metadata = "bare", {}
    if isinstance(content, Mapping) and isinstance(content.get("model"), Mapping) and "step" in content:
        # Our training checkpoint: its EMA weights are what the recipe evaluates and reports.
        check_digest(content, path)
        config = content.get("config") if isinstance(content.get("config"), Mapping) else {}
        class_names = config.get("model", {}).get("class_names")
        metadata = {"class_names": list(class_names)} if class_names else {}
        if config:
            metadata["config"] = dict(config)  # the resolved config: the checkpoint describes its model
        weights = "ema" if training_weights == "ema" and isinstance(content.get("ema"), Mapping) else "model"
        metadata.update(weights=weights, epoch=content.get("epoch"), step=content["step"])
        return _check_state_dict(content[weights], path), "training", metadata
    if isinstance(content, Mapping):
        for key in _STATE_DICT_KEYS:
            if isinstance(content.get(key), Mapping):
                content, container = content[key], ("mmpretrain" if key == "state_dict" else "training")
                break
    return _check_state_dict(content, path), container, metadata


def _check_state_dict(content: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(content, _Inert):
        raise CheckpointError(
            f"{path} holds a pickled {content.original_name} object rather than a state dict; "
            "save its state_dict() instead"
        )
    if not isinstance(content, Mapping) or not content:
        raise CheckpointError(
            f"{path} holds no state dict: expected a dict of tensors, possibly under "
            f"one of the keys {', '.join(_STATE_DICT_KEYS)}; got {type(content).__name__}"
        )
    not_tensors = [key for key, value in content.items() if not isinstance(value, torch.Tensor)]
    if not_tensors:
        raise CheckpointError(
            f"{path}: the state dict holds {len(not_tensors)} entries that are not tensors, such as {not_tensors[:5]}"
        )
    state_dict = dict(content)
    if all(key.startswith("module.") for key in state_dict):  # saved from a DistributedDataParallel wrapper
        state_dict = {key[len("module.") :]: value for key, value in state_dict.items()}
    return state_dict


class _RefusedCall(Exception):
    """Raised inside unpickling when the file calls a global we replaced by a stand-in."""


class _InertType(type):
    """Metaclass of the stand-ins: building an instance the way pickle does for plain objects
    (``cls.__new__`` then its state) works; calling the class, as a pickle calls a function, is refused."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise _RefusedCall(cls.original_name)


class _Inert(metaclass=_InertType):
    """Takes the place of a class a checkpoint names: keeps the pickled state, runs nothing."""

    original_name = ""

    def __new__(cls, *args: Any) -> _Inert:
        instance = object.__new__(cls)
        instance.__dict__["pickled_args"] = args
        return instance

    def __setstate__(self, state: Any) -> None:
        self.__dict__["pickled_state"] = state

    def __repr__(self) -> str:
        return f"<inert stand-in for {self.original_name}>"


def _stand_in(full_name: str) -> type:
    module, _, name = full_name.rpartition(".")
    return _InertType(name, (_Inert,), {"__module__": module, "__qualname__": name, "original_name": full_name})


def _numpy_reconstructors() -> dict[str, Any]:
    """The globals numpy's arrays, scalars and dtypes pickle to, under both module spellings
    (``numpy.core`` before numpy 2, ``numpy._core`` since). Restoring a dtype's state needs its
    class too (``numpy.dtypes.Float64DType``)."""
    core = np._core if hasattr(np, "_core") else np.core
    allowed: dict[str, Any] = {"numpy.ndarray": np.ndarray, "numpy.dtype": np.dtype}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[f"{module}._reconstruct"] = core.multiarray._reconstruct
        allowed[f"{module}.scalar"] = core.multiarray.scalar
    dtype_classes = getattr(np, "dtypes", None)  # numpy >= 1.25
    for name in dir(dtype_classes) if dtype_classes is not None else ():
        value = getattr(dtype_classes, name)
        if isinstance(value, type) and issubclass(value, np.dtype):
            allowed[f"numpy.dtypes.{name}"] = value
    return allowed


def check_digest(content: Mapping[str, Any], path: Path) -> None:
    """Check the sha256 that one of our training checkpoints carries against the rest of its
    content; a checkpoint without one (written before they carried it) passes unverified."""
    expected = content.get(DIGEST_KEY)
    if expected is None:
        return
    rest = {key: value for key, value in content.items() if key != DIGEST_KEY}
    try:
        actual = payload_digest(rest)
    except TypeError as error:
        raise CheckpointError(f"{path} is not a mobilevit training checkpoint as written: {error}") from None
    if actual != expected:
        raise CheckpointError(
            f"{path} is corrupt: its content does not match the sha256 it records "
            "(the file was damaged after it was written)"
        )


def read_pickle(path: str | os.PathLike) -> Any:
    """``torch.load(weights_only=True)`` that also reads numpy values and unknown classes inertly,
    after checking the CRC-32 of each record of a zip-format file. Every failure is a
    :class:`CheckpointError` naming the file."""
    path = Path(path)
    with path.open("rb") as file:
        start = file.read(8)
    if zipfile.is_zipfile(path):
        _check_zip(path)
    elif start.startswith(b"PK\x03\x04"):
        raise CheckpointError(
            f"cannot read checkpoint {path}: it is a zip-format PyTorch file cut short or damaged "
            "(its zip directory, at the end, is missing); download or copy it again"
        )
    elif not start.startswith(b"\x80"):  # the first opcode of every pickle of protocol 2 or higher
        raise CheckpointError(
            f"cannot read checkpoint {path}: it is neither a zip-format PyTorch file nor a pickle "
            f"of protocol 2 or higher (it starts with {start!r})"
        )
    try:
        named = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    except ValueError:  # not a zip checkpoint (the legacy format): torch's own allow-list decides
        named = []
    except Exception as error:  # noqa: BLE001 (whatever a damaged file makes torch raise)
        raise _unreadable(path, error) from None
    numpy_globals = _numpy_reconstructors()
    allowed = [(value, name) for name, value in numpy_globals.items()]
    allowed += [(_stand_in(name), name) for name in named if name not in numpy_globals]
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(path, map_location="cpu", weights_only=True)
    except _RefusedCall as call:
        raise UnsafeCheckpointError(
            f"refusing to load {path}: unpickling it would call {call.args[0]}, which could run arbitrary "
            "code. Only tensors, plain containers, numpy values and inert objects are read from pickles. "
            "If you trust where the file comes from, save its state dict with torch.save or as "
            "safetensors and load that."
        ) from None
    except pickle.UnpicklingError as error:
        reason = _unpickling_reason(str(error))
        if "global" not in reason.lower():
            raise _unreadable(path, error) from None
        raise UnsafeCheckpointError(
            f"refusing to load {path}: the safe unpickler cannot read it ({reason}), and "
            "unpickling it fully could run code. If you trust where the file comes from, load it with "
            "torch.load(..., weights_only=False) yourself and save its state dict."
        ) from None
    except Exception as error:  # noqa: BLE001 (whatever a damaged file makes torch raise)
        raise _unreadable(path, error) from None


def _unreadable(path: Path, error: Exception) -> CheckpointError:
    """The error of a pickle that the safe unpickler cannot make sense of."""
    reason = _unpickling_reason(str(error))
    if isinstance(error, pickle.UnpicklingError):
        return CheckpointError(
            f"cannot read checkpoint {path}: the safe unpickler does not understand it ({reason}); the file is "
            "corrupt, or pickled with protocol 0 or 1, which torch.save never writes"
        )
    if not isinstance(error, (RuntimeError, OSError)):
        reason = f"{type(error).__name__}: {reason}"
    return CheckpointError(f"cannot read checkpoint {path} (corrupt, truncated or not a PyTorch file): {reason}")


def _check_zip(path: Path) -> None:
    try:
        bad_record = first_bad_zip_record(path)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise CheckpointError(f"{path} is a damaged zip file: {error}") from None
    if bad_record is not None:
        raise CheckpointError(
            f"{path} is corrupt: its record {bad_record} fails its CRC-32 check (the file was "
            "damaged after it was written); download or copy it again"
        )


def _unpickling_reason(message: str) -> str:
    """The part of torch's long weights-only message that says what was found, without its
    advice to allow-list it."""
    _, marker, reason = message.partition("WeightsUnpickler error:")
    boilerplate = ("Weights only load failed", "(1)", "(2)", "Check the documentation")
    for line in (reason if marker else message).splitlines():
        line = line.strip()
        if line and not line.startswith(boilerplate):
            return line.split(" Please use")[0]
    return message.strip()
