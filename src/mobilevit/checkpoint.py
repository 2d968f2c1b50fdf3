"""Reading, loading and saving checkpoints.

A checkpoint is a local file, a directory holding one (``save_pretrained`` output), or an http(s)
URL (downloaded once into the cache, see :mod:`mobilevit.download`). Its layout (ours,
mmpretrain, ml-cvnets, timm, Hugging Face) is recognised and mapped onto ours by
:mod:`mobilevit.convert`.

Pickled checkpoints are read with torch's restricted unpickler and never run code. Training
checkpoints often carry more than tensors beside the weights (numpy scalars and arrays, objects
of the training framework such as a message hub): numpy's array and scalar reconstructors are
allowed, and any other class the file names is replaced by an inert stand-in that only keeps the
pickled state. A file that asks to *call* such a global (the way a malicious pickle runs
``os.system``) is refused.

Our own format is a safetensors file whose header carries a ``mobilevit`` entry: a JSON object
with ``format_version``, ``arch``, ``num_classes``, ``preprocessing``, ``source_layout`` and
optionally ``class_names``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save
from torch import nn

from .convert import CheckpointError, detect_layout, num_classes_of, to_mobilevit
from .download import download_checkpoint, is_url
from .zoo import Preprocessing

FORMAT_VERSION = 1
METADATA_KEY = "mobilevit"
# Where a checkpoint directory (save_pretrained output) keeps its weights, in order of preference.
DIRECTORY_FILES = ("model.safetensors", "pytorch_model.bin", "model.pth", "weights.safetensors")
# Keys that hold the weights in other frameworks' checkpoints (mmengine's state_dict first).
_STATE_DICT_KEYS = ("state_dict", "model", "model_state_dict")

__all__ = [
    "Checkpoint", "CheckpointError", "LoadReport", "UnsafeCheckpointError", "load_backbone", "load_checkpoint",
    "read_checkpoint", "resolve_checkpoint", "save_checkpoint",
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
    """The local file of a checkpoint path, directory or URL (downloading a URL once)."""
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


def read_checkpoint(source: str | os.PathLike, training_weights: str = "ema") -> Checkpoint:
    """Read a checkpoint of any known layout and map it onto our parameter names.

    From one of our training checkpoints, ``training_weights`` picks the EMA weights (``'ema'``,
    what the recipe reports; the raw weights where the run kept no EMA) or the raw ``'model'``.
    """
    if training_weights not in ("ema", "model"):
        raise ValueError(f"training_weights must be 'ema' or 'model', got {training_weights!r}")
    path = resolve_checkpoint(source)
    if path.suffix == ".safetensors":
        state_dict, metadata = _read_safetensors(path)
        container = "safetensors"
    else:
        state_dict, container, metadata = _unwrap(_torch_load(path), path, training_weights)
    layout = detect_layout(state_dict)
    try:
        converted = to_mobilevit(state_dict, layout)
    except CheckpointError as error:
        raise CheckpointError(f"{path} ({layout} layout): {error}") from None
    if layout == "mobilevit" and container in ("mmpretrain", "training"):
        layout = container
    return Checkpoint(converted, layout, path, metadata)


def load_checkpoint(
    model: nn.Module, source: str | os.PathLike | Checkpoint, strict_head: bool = True
) -> LoadReport:
    """Load a checkpoint into ``model``, every key and shape matching.

    With ``strict_head=False`` the classification head (``head.*``) is skipped where the
    checkpoint's differs in shape or is absent, for fine-tuning on another number of classes; the
    skipped keys are returned and warned about. Everything else must still match.
    """
    checkpoint = source if isinstance(source, Checkpoint) else read_checkpoint(source)
    state_dict = dict(checkpoint.state_dict)
    ours = model.state_dict()
    skipped: list[str] = []
    if not strict_head:
        for key in sorted(set(ours) | set(state_dict)):
            if key.startswith("head.") and (
                    key not in ours or key not in state_dict or state_dict[key].shape != ours[key].shape):
                skipped.append(key)
                state_dict.pop(key, None)
    _check_fits(ours, state_dict, set(skipped), checkpoint)
    model.load_state_dict(state_dict, strict=not skipped)
    if skipped:
        details = ", ".join(
            f"{key} (checkpoint {_shape(checkpoint.state_dict.get(key))}, model {_shape(ours.get(key))})"
            for key in skipped)
        warnings.warn(f"not loaded from {checkpoint.path}, left as initialised: {details}", stacklevel=2)
    return LoadReport(checkpoint.path, checkpoint.layout, checkpoint.metadata, tuple(skipped))


# The MobileViT stages every task's model shares under ``backbone.``: what seeds another task's model.
BACKBONE_PREFIXES = ("backbone.stem.", "backbone.layers.")


def load_backbone(model: nn.Module, source: str | os.PathLike | Checkpoint) -> LoadReport:
    """Load the MobileViT stages (``backbone.stem.*``, ``backbone.layers.*``) of any checkpoint into
    the same stages of ``model``, every such key and shape matching; the rest is left as it is.

    A classification checkpoint seeds a detector or a segmenter this way, and a dense-task
    checkpoint (ml-cvnets nests its backbone under ``encoder.``) seeds a classifier's stages (its
    ``conv_1x1_exp`` and head stay as initialised). The keys not loaded are in ``skipped``.
    """
    checkpoint = source if isinstance(source, Checkpoint) else read_checkpoint(source)
    stages = {key: value for key, value in checkpoint.state_dict.items() if key.startswith(BACKBONE_PREFIXES)}
    ours = model.state_dict()
    wanted = {key: value for key, value in ours.items() if key.startswith(BACKBONE_PREFIXES)}
    if not wanted:
        raise CheckpointError(f"the model has no MobileViT stages under {' or '.join(BACKBONE_PREFIXES)} to load")
    _check_fits(wanted, stages, set(), checkpoint)
    model.load_state_dict(stages, strict=False)
    return LoadReport(checkpoint.path, checkpoint.layout, checkpoint.metadata, tuple(sorted(set(ours) - set(stages))))


def save_checkpoint(
    path: str | os.PathLike,
    state_dict: Mapping[str, torch.Tensor],
    arch: str | Sequence,
    preprocessing: Preprocessing = Preprocessing(),
    source_layout: str = "mobilevit",
    class_names: Sequence[str] | None = None,
    output_stride: int | None = None,
) -> Path:
    """Write weights in our format: a safetensors file with our metadata in its header.

    ``output_stride`` is a segmenter's (it shapes no tensor, so the weights cannot tell it).
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"our checkpoint format is a .safetensors file; got {path}")
    num_classes = num_classes_of(state_dict)
    if class_names is not None and len(class_names) != num_classes:
        head = state_dict.get("head.fc.weight", state_dict.get("head.classifier.weight"))
        raise ValueError(f"{len(class_names)} class names for a head of {_shape(head)}")
    metadata = {
        "format_version": FORMAT_VERSION,
        "arch": arch if isinstance(arch, str) else [_stage_as_list(stage) for stage in arch],
        "num_classes": num_classes,
        "preprocessing": dataclasses.asdict(preprocessing),
        "source_layout": source_layout,
    }
    if class_names is not None:
        metadata["class_names"] = list(class_names)
    if output_stride is not None:
        metadata["output_stride"] = output_stride
    tensors = {key: value.detach().cpu().contiguous() for key, value in state_dict.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written by us rather than safetensors' save_file, whose files are 0600 whatever the umask says.
    path.write_bytes(save(tensors, metadata={METADATA_KEY: json.dumps(metadata)}))
    return path


def _stage_as_list(stage: Any) -> list:
    """A stage dataclass in the list form that :func:`mobilevit.models.resolve_arch` reads back."""
    if not dataclasses.is_dataclass(stage):
        return list(stage)
    kind = "mobilevit" if hasattr(stage, "transformer_dim") else "mobilenetv2"
    return [kind, *dataclasses.astuple(stage)]


def _check_fits(ours: Mapping[str, torch.Tensor], theirs: Mapping[str, torch.Tensor], skipped: set[str],
                checkpoint: Checkpoint) -> None:
    missing = sorted(set(ours) - set(theirs) - skipped)
    unexpected = sorted(set(theirs) - set(ours))
    mismatched = [
        f"{key}: checkpoint {_shape(theirs[key])}, model {_shape(ours[key])}"
        for key in ours if key in theirs and theirs[key].shape != ours[key].shape
    ]
    if missing or unexpected or mismatched:
        hint = ""
        if all(key.startswith("head.") for key in missing + unexpected + [m.split(":")[0] for m in mismatched]):
            hint = " Only the head differs: pass strict_head=False to fine-tune on other classes."
        raise CheckpointError(
            f"checkpoint {checkpoint.path} ({checkpoint.layout} layout) does not match the model: "
            f"{len(missing)} missing keys {missing[:5]}, {len(unexpected)} unexpected keys {unexpected[:5]}, "
            f"{len(mismatched)} shape mismatches {mismatched[:5]}.{hint}")


def _shape(tensor: torch.Tensor | None) -> str:
    return "absent" if tensor is None else str(tuple(tensor.shape))


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    try:
        with safe_open(str(path), framework="pt") as file:
            header = file.metadata() or {}
        state_dict = load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"cannot read safetensors file {path}: {error}") from None
    try:
        metadata = json.loads(header[METADATA_KEY]) if METADATA_KEY in header else {}
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: the {METADATA_KEY!r} header entry is not valid JSON: {error}") from None
    return state_dict, metadata


def _unwrap(content: Any, path: Path, training_weights: str) -> tuple[dict[str, torch.Tensor], str, dict[str, Any]]:
    """The state dict inside a loaded checkpoint, the kind of container it came in, and metadata."""
    container, metadata = "bare", {}
    if isinstance(content, Mapping) and isinstance(content.get("model"), Mapping) and "step" in content:
        # Our training checkpoint: its EMA weights are what the recipe evaluates and reports.
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
        raise CheckpointError(f"{path} holds a pickled {content.original_name} object rather than a state dict; "
                              "save its state_dict() instead")
    if not isinstance(content, Mapping) or not content:
        raise CheckpointError(f"{path} holds no state dict: expected a dict of tensors, possibly under "
                              f"one of the keys {', '.join(_STATE_DICT_KEYS)}; got {type(content).__name__}")
    not_tensors = [key for key, value in content.items() if not isinstance(value, torch.Tensor)]
    if not_tensors:
        raise CheckpointError(f"{path}: the state dict holds {len(not_tensors)} entries that are not tensors, "
                              f"such as {not_tensors[:5]}")
    state_dict = dict(content)
    if all(key.startswith("module.") for key in state_dict):  # saved from a DistributedDataParallel wrapper
        state_dict = {key[len("module."):]: value for key, value in state_dict.items()}
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

    def __new__(cls, *args: Any) -> "_Inert":
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


def _torch_load(path: Path) -> Any:
    """``torch.load(weights_only=True)`` that also reads numpy values and unknown classes inertly."""
    try:
        named = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    except ValueError:  # not a zip checkpoint (the legacy format): torch's own allow-list decides
        named = []
    except RuntimeError as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {error}") from None
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
            "safetensors and load that.") from None
    except pickle.UnpicklingError as error:
        raise UnsafeCheckpointError(
            f"refusing to load {path}: the safe unpickler cannot read it ({_unpickling_reason(str(error))}), and "
            "unpickling it fully could run code. If you trust where the file comes from, load it with "
            "torch.load(..., weights_only=False) yourself and save its state dict.") from None
    except (RuntimeError, EOFError, OSError) as error:
        raise CheckpointError(
            f"cannot read checkpoint {path} (corrupt, truncated or not a PyTorch file): {error}") from None


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
