"""Config files: Python files with ``_base_`` inheritance, checked strictly against typed sections.

A config file assigns top-level dicts (``model = dict(arch='small')``). ``_base_`` names files
(relative to the config) whose values are merged first; a child dict updates its base key by key,
unless it carries ``_delete_=True``. Command-line overrides (``optim.lr=0.001``) are applied
last. The merged dict is then read into the dataclasses below: an unknown key is an error that
names the closest valid one.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import difflib
import json
import os
import re
import runpy
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from . import checks
from .checks import FieldError, at_least, at_most, check_types, expected, fraction, image_side, one_of, positive
from .data.sampler import BatchShape, variable_batch_shapes
from .data.transforms import MAX_RESIZE_SHORT, Preprocessing
from .errors import UsageError
from .models import ARCHS, DecodingSettings, MobileViTStage, resolve_arch

# What a config file is named (a run saves its resolved config as config.json).
CONFIG_SUFFIXES = (".py", ".json")


class ConfigError(UsageError):
    """A config file or override that cannot be read or does not fit the schema."""


# A field or section one task owns says so in its metadata: a config of another task may not set
# it (beyond its default, which configs saved by earlier versions hold), and to_dict leaves it out.
SEGMENTATION_ONLY = {"task": "segmentation"}
DETECTION_ONLY = {"task": "detection"}
# The segmentation heads model.head names (mobilevit.models: DeepLabV3, PSPNet).
SEGMENTATION_HEADS = ("deeplabv3", "pspnet")


@dataclass(frozen=True)
class ModelConfig:
    """The model: arguments of :func:`mobilevit.models.build_classifier` or, for segmentation,
    :func:`mobilevit.models.build_segmenter`, and the weights a run starts from."""

    arch: Any = "small"  # an arch name or a list of stages
    num_classes: int | None = None  # None: training takes it from the data set (class folders, VOC's 21)
    dropout: float = 0.0  # before the classifier (the linear head, or the segmenter's 1x1 convolution)
    label_smoothing: float = 0.0
    drop_rate: float = 0.0
    out_indices: tuple[int, ...] = (-1,)
    frozen_stages: int = -1  # the stem and this many stages (-1: none); mmpretrain never freezes the stem
    norm_eval: bool = False
    class_names: tuple[str, ...] = ()  # set by training from the data set, so inference can name classes
    output_stride: int = 0  # the backbone's; 0: the task's own (32 classification, 16 segmentation)
    # segmentation only: the head ('deeplabv3' or 'pspnet'), the DeepLabv3 head's ASPP (the published
    # v1 models' values; the v2 ones have 512 channels), the PSPNet head's pyramid (ml-cvnets' values)
    head: str = field(default="deeplabv3", metadata=SEGMENTATION_ONLY)
    atrous_rates: tuple[int, ...] = field(default=(6, 12, 18), metadata=SEGMENTATION_ONLY)
    aspp_channels: int = field(default=256, metadata=SEGMENTATION_ONLY)
    aspp_dropout: float = field(default=0.1, metadata=SEGMENTATION_ONLY)
    pool_sizes: tuple[int, ...] = field(default=(1, 2, 3, 6), metadata=SEGMENTATION_ONLY)
    psp_channels: int = field(default=512, metadata=SEGMENTATION_ONLY)
    # The weight of the auxiliary head's loss (ml-cvnets' v2 recipes: 0.4); 0: no auxiliary head.
    # The head (on the next-to-last stage) exists in training only.
    aux_loss_weight: float = field(default=0.0, metadata=SEGMENTATION_ONLY)
    # Weights a fresh run starts from (never a resumed one): a zoo name, a file, a directory or an
    # http(s) URL, any layout mobilevit.checkpoint reads; '' starts from random weights.
    pretrained: str = ""
    # Which of its keys: '' all that fit the model (a head of another class count starts new), or a
    # module prefix such as 'backbone' (the backbone of a classifier, segmentation or detection model).
    pretrained_keys: str = ""

    def __post_init__(self) -> None:
        check_types(self)
        num_stages = len(_check_arch(self.arch))
        if self.num_classes is not None:  # None: training takes it from the class folders
            if not checks.is_of_type(self.num_classes, int):
                raise expected("num_classes", "an integer or None", self.num_classes)
            at_least(self, "num_classes", 1)
        for name in ("dropout", "label_smoothing", "drop_rate"):
            fraction(self, name)
        if not self.out_indices or not all(-num_stages <= index < num_stages for index in self.out_indices):
            raise expected(
                "out_indices",
                f"a non-empty list of stage numbers in [{-num_stages}, {num_stages - 1}]",
                self.out_indices,
            )
        if not -1 <= self.frozen_stages <= num_stages:
            raise expected("frozen_stages", f"in [-1, {num_stages}] (-1: none frozen)", self.frozen_stages)
        if self.class_names and self.num_classes is not None and len(self.class_names) != self.num_classes:
            raise expected("class_names", f"empty or {self.num_classes} names (model.num_classes)", self.class_names)
        if self.pretrained_keys and not re.fullmatch(r"[A-Za-z_]\w*(\.\w+)*", self.pretrained_keys):
            raise expected("pretrained_keys", "'' or a module name such as 'backbone'", self.pretrained_keys)
        if self.pretrained_keys and not self.pretrained:
            raise FieldError(
                "pretrained_keys",
                f"needs model.pretrained (the checkpoint to take its {self.pretrained_keys!r} keys from)",
            )
        if self.output_stride not in (0, 8, 16, 32):
            raise expected("output_stride", "0 (the task's own), 8, 16 or 32", self.output_stride)
        if not self.atrous_rates or not all(rate >= 1 for rate in self.atrous_rates):
            raise expected("atrous_rates", "a non-empty list of positive integers", self.atrous_rates)
        at_least(self, "aspp_channels", 1)
        fraction(self, "aspp_dropout")
        one_of(self, "head", SEGMENTATION_HEADS)
        if not self.pool_sizes or not all(size >= 1 for size in self.pool_sizes):
            raise expected("pool_sizes", "a non-empty list of positive integers", self.pool_sizes)
        at_least(self, "psp_channels", 1)
        if self.aux_loss_weight < 0:
            raise expected("aux_loss_weight", "0 (no auxiliary head) or more", self.aux_loss_weight)


def _check_arch(arch: Any) -> tuple:
    """The stages of ``model.arch``: a named arch, or a list of stages of positive integers."""
    if not isinstance(arch, (str, list, tuple)):
        raise expected("arch", f"one of {', '.join(map(repr, ARCHS))} or a list of stages", arch)
    try:
        stages = resolve_arch(arch)
    except ValueError as error:
        raise FieldError("arch", f"is not an arch: {error}") from None
    for stage in stages:
        values = dataclasses.astuple(stage)
        if not all(checks.is_of_type(value, int) and value >= 1 for value in values) or stage.stride not in (1, 2):
            raise FieldError("arch", f"has a bad stage {stage}: its values must be positive integers, stride 1 or 2")
        if isinstance(stage, MobileViTStage) and stage.transformer_dim % 4:
            raise FieldError("arch", f"has a bad stage {stage}: transformer_dim must be a multiple of 4 (heads)")
    return stages


@dataclass(frozen=True)
class SamplerConfig:
    """The variable batch sampler (see :func:`mobilevit.data.sampler.variable_batch_shapes`)."""

    variable: bool = True  # False: every batch is base_size x base_size at data.batch_size
    base_size: int = 256
    min_size: int = 160
    max_size: int = 320
    num_scales: int = 5
    multiple: int = 32
    # 'base': never below data.batch_size, rounded to a multiple of the process count (the release
    # that trained the published weights); 'one': the pixel rule alone, at least 1 (later releases)
    batch_floor: str = "base"

    def __post_init__(self) -> None:
        check_types(self)
        for name in ("base_size", "min_size", "num_scales", "multiple"):
            at_least(self, name, 1)
        image_side("base_size", self.base_size, MAX_RESIZE_SHORT)
        if self.variable:  # the range of sizes only matters to the variable batch sampler
            at_most(self, "min_size", self.base_size, f"base_size ({self.base_size})")
            at_least(self, "max_size", self.base_size, f"base_size ({self.base_size})")
            image_side("max_size", self.max_size, MAX_RESIZE_SHORT)
        one_of(self, "batch_floor", ("base", "one"))


# The data layouts each task reads (data.kind).
DATA_KINDS = {
    "classification": ("auto", "folder", "annotation"),
    "segmentation": ("voc", "voc_aug", "pairs", "ade20k"),
    "detection": ("coco", "boxes", "auto"),
}


@dataclass(frozen=True)
class DataConfig:
    """Where the images are, how they are read and batched, and how evaluation images are preprocessed."""

    # Classification: 'folder': <root>/<split>/<class>/<image>; 'annotation': <root>/<split>/<path>
    # listed with labels in <root>/<annotation> (mmpretrain's meta/train.txt); 'auto': annotation
    # files if present. Segmentation (see mobilevit.data.segmentation): 'voc' (VOC2012 as released),
    # 'voc_aug' (list files such as list/train_aug.txt, given as the annotation), 'pairs'
    # (<root>/images/<split>/ beside <root>/masks/<split>/), 'ade20k' (ADEChallengeData2016). Detection (see mobilevit.data.detection):
    # 'coco' (<root>/<annotation> an instances_*.json of the images in <root>/<split>), 'boxes' (a
    # boxes file), 'auto' (COCO when the file lists categories).
    kind: str = "auto"
    root: str = "data/imagenet"
    train_split: str = "train"
    val_split: str = "val"
    train_annotation: str = "meta/train.txt"
    val_annotation: str = "meta/val.txt"
    classes: Any = ()  # class names, or a text file of one name per line (relative to root)
    batch_size: int = 128  # per process, at the sampler's base size
    val_batch_size: int = 128
    num_workers: int = 8
    skip_bad_images: bool = False  # False: an unreadable image stops the run, naming the file
    crop_scale: tuple[float, float] = (0.08, 1.0)  # classification's random resized crop: area fraction
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)  # classification's random resized crop: aspect ratio
    # segmentation: the short side is resized to a size drawn from this range, then cropped to the
    # sampler's size (data.sampler.base_size with variable=False, as the recipe)
    short_side_range: tuple[int, int] = (256, 1024)
    horizontal_flip: bool = True
    sampler: SamplerConfig = SamplerConfig()
    preprocessing: Preprocessing = Preprocessing()

    def __post_init__(self) -> None:
        check_types(self)
        one_of(self, "kind", tuple(dict.fromkeys(sum(DATA_KINDS.values(), ()))))
        if not self.root:
            raise expected("root", "the data set's folder", self.root)
        names = [self.classes] if isinstance(self.classes, str) else self.classes
        if not isinstance(names, (list, tuple)) or not all(isinstance(name, str) and name for name in names):
            raise expected("classes", "a list of class names or the name of a text file of them", self.classes)
        if len(set(names)) != len(names):
            raise expected("classes", "distinct class names", self.classes)
        for name in ("batch_size", "val_batch_size"):
            at_least(self, name, 1)
        at_least(self, "num_workers", 0)
        low, high = self.crop_scale
        if not 0 < low <= high <= 1:
            raise expected("crop_scale", "(low, high) area fractions with 0 < low <= high <= 1", self.crop_scale)
        low, high = self.crop_ratio
        if not 0 < low <= high:
            raise expected("crop_ratio", "(low, high) aspect ratios with 0 < low <= high", self.crop_ratio)
        low, high = self.short_side_range
        if not 0 < low <= high:
            raise expected("short_side_range", "(low, high) pixel sizes with 0 < low <= high", self.short_side_range)
        image_side("short_side_range", high, MAX_RESIZE_SHORT)

    def batch_shapes(self, num_replicas: int = 1) -> list[BatchShape]:
        """The (height, width, batch size) choices of the training sampler."""
        sampler = self.sampler
        if not sampler.variable:
            return [BatchShape(sampler.base_size, sampler.base_size, self.batch_size)]
        return variable_batch_shapes(
            sampler.base_size,
            self.batch_size,
            sampler.min_size,
            sampler.max_size,
            sampler.num_scales,
            sampler.multiple,
            sampler.batch_floor,
            num_replicas,
        )


@dataclass(frozen=True)
class OptimConfig:
    """AdamW (or SGD with momentum, ml-cvnets' ADE20k recipes); weight decay applies to every
    parameter, norms and biases included, as in the recipe."""

    name: str = "adamw"  # 'adamw' or 'sgd'
    lr: float = 2e-3
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    momentum: float = 0.9  # SGD's
    clip_grad: float = 0.0  # max gradient norm; 0: no clipping
    # Learning rate multipliers of the parameter groups, applied at every step of the schedule:
    # the backbone's parameters (backbone.*) and the rest (the head). Fine-tuning often gives the
    # new head 10x the backbone's rate.
    backbone_lr_mult: float = 1.0
    head_lr_mult: float = 1.0

    def __post_init__(self) -> None:
        check_types(self)
        positive(self, "lr")
        for name in ("backbone_lr_mult", "head_lr_mult"):
            if not getattr(self, name) > 0:
                raise expected(name, "positive (freeze parameters with model.frozen_stages)", getattr(self, name))
        at_least(self, "weight_decay", 0)
        if not all(0 <= beta < 1 for beta in self.betas):
            raise expected("betas", "two numbers in [0, 1)", self.betas)
        positive(self, "eps")
        at_least(self, "clip_grad", 0)
        one_of(self, "name", ("adamw", "sgd"))
        if not 0 <= self.momentum < 1:
            raise expected("momentum", "in [0, 1)", self.momentum)


@dataclass(frozen=True)
class ScheduleConfig:
    """Linear warm-up per optimizer step, then cosine from optim.lr to min_lr, updated every step."""

    epochs: int = 300
    warmup_iters: int = 3000
    warmup_start_lr: float = 2e-4
    min_lr: float = 2e-4

    def __post_init__(self) -> None:
        check_types(self)
        at_least(self, "epochs", 1)
        for name in ("warmup_iters", "warmup_start_lr", "min_lr"):
            at_least(self, name, 0)


@dataclass(frozen=True)
class TrainConfig:
    """How a run is carried out, logged and checkpointed."""

    work_dir: str = ""  # load_config's default: work_dirs/<config file name>
    device: str = "auto"  # 'auto': CUDA if available, else CPU
    amp: str = "bfloat16"  # mixed precision: 'none', 'bfloat16', or 'float16' (CUDA, with a gradient scaler)
    ema: bool = True
    ema_decay: float = 0.9995
    seed: int = 0
    accumulate: int = 1  # batches per optimizer step (keeps the effective batch on fewer GPUs)
    log_interval: int = 50  # optimizer steps between log lines
    val_interval: int = 1  # epochs between evaluations
    checkpoint_interval: int = 1  # epochs between kept epoch_<n>.pth checkpoints
    checkpoint_steps: int = 1000  # optimizer steps between mid-epoch latest.pth checkpoints; 0: none
    keep_checkpoints: int = 3  # epoch checkpoints kept (besides latest and best); 0: all
    auto_resume: bool = True  # resume from <work_dir>/latest.pth when it exists
    max_steps: int = 0  # stop after this many optimizer steps in all (saving a checkpoint); 0: no limit
    progress_bar: bool = True
    tensorboard: bool = False  # also write the log's figures for TensorBoard (needs the tensorboard package)
    # torch.compile the model for the training steps: the first step of each batch shape compiles
    # (minutes on a CPU), later ones run the compiled kernels (benchmarks/README.md has the trade)
    compile: bool = False
    # `mobilevit train` and `test` make glibc keep freed memory for reuse (CPU steps 1.3-1.6x faster;
    # see mobilevit.engine.allocator). A setting of the whole process, so the command line makes it,
    # never the library; False (or the environment variable MOBILEVIT_KEEP_FREED_MEMORY=0) opts out.
    keep_freed_memory: bool = True

    def __post_init__(self) -> None:
        check_types(self)
        _check_device(self.device)
        one_of(self, "amp", ("none", "bfloat16", "float16"))
        if self.amp == "float16" and self.device == "cpu":
            raise FieldError("amp", "'float16' needs a CUDA device (for its gradient scaler); use 'bfloat16' or 'none'")
        fraction(self, "ema_decay")
        if not 0 <= self.seed < 2**63:
            raise expected("seed", "in [0, 2**63)", self.seed)
        for name in ("accumulate", "log_interval", "val_interval", "checkpoint_interval"):
            at_least(self, name, 1)
        for name in ("checkpoint_steps", "keep_checkpoints", "max_steps"):
            at_least(self, name, 0)


def _check_device(device: str) -> None:
    if device == "auto":
        return
    try:
        kind = torch.device(device).type
    except (RuntimeError, ValueError):
        kind = None
    if kind not in ("cpu", "cuda"):
        raise expected("device", "'auto', 'cpu', 'cuda' or 'cuda:N'", device)


@dataclass(frozen=True)
class DetectionConfig(DecodingSettings):
    """SSDLite's input size and post-processing (ml-cvnets' evaluation settings: the fields of
    :class:`~mobilevit.models.DecodingSettings`, checked there) and its augmentation. The checkpoint
    that seeds its MobileViT stages is ``model.pretrained`` with ``model.pretrained_keys='backbone'``,
    as for every task."""

    random_crop: bool = True  # SSD's random IoU crop
    photometric_distort: bool = True

    def decoding(self) -> DecodingSettings:
        """The decoding settings alone, as the model and our files hold them."""
        return DecodingSettings.of(dataclasses.asdict(self))


# The tasks a config may name (each is a module of mobilevit.tasks).
TASKS = tuple(DATA_KINDS)


@dataclass(frozen=True)
class Config:
    """A whole resolved config."""

    task: str = "classification"  # which mobilevit.tasks module builds the model, data, loss and metric
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    detection: DetectionConfig = field(default_factory=DetectionConfig, metadata=DETECTION_ONLY)

    def __post_init__(self) -> None:
        check_types(self)
        one_of(self, "task", TASKS)
        if self.data.kind not in DATA_KINDS[self.task]:
            raise FieldError(
                "data.kind",
                f"must be a {self.task} layout, one of "
                f"{', '.join(map(repr, DATA_KINDS[self.task]))}; got {self.data.kind!r}",
            )
        if self.schedule.min_lr > self.optim.lr:
            raise expected("schedule.min_lr", f"at most optim.lr ({self.optim.lr})", self.schedule.min_lr)


def load_config(path: str | os.PathLike, overrides: Sequence[str] = ()) -> Config:
    """Read a config file, its bases and ``key.sub=value`` overrides into a checked :class:`Config`.

    Without a ``train.work_dir`` the run's folder is ``work_dirs/<config file name>``.
    """
    config = config_from_dict(_read_with_bases(Path(path), chain=()), overrides, where=str(path))
    if not config.train.work_dir:
        default = str(Path("work_dirs") / Path(path).stem)
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, work_dir=default))
    return config


def config_from_dict(raw: dict[str, Any], overrides: Sequence[str] = (), where: str = "the config") -> Config:
    """A checked :class:`Config` from a plain dict (such as the one a training checkpoint carries)
    with ``key.sub=value`` overrides applied to a copy; ``where`` names the source in errors."""
    raw = copy.deepcopy(dict(raw))
    for override in overrides:
        _apply_override(raw, override)
    config = from_dict(Config, raw, where=where)  # every value checked first, so a bad one is named as such
    _refuse_other_tasks_keys(raw, where)
    return config


def _owned_fields(schema: type, raw: Any, prefix: str = "") -> list[tuple[str, str, Any, Any]]:
    """(key, owning task, value, default) of every field a task owns that ``raw`` sets, the fields
    of an owned section each on their own."""
    if not isinstance(raw, dict):
        return []
    found = []
    defaults = schema()
    for item in dataclasses.fields(schema):
        if item.name not in raw:
            continue
        value, default = raw[item.name], getattr(defaults, item.name)
        owner = item.metadata.get("task")
        if dataclasses.is_dataclass(default) and isinstance(value, dict):
            found += [
                (key, owner or inner_owner, inner_value, inner_default)
                for key, inner_owner, inner_value, inner_default in _owned_fields(
                    type(default), value, f"{prefix}{item.name}."
                )
            ]
            if owner is not None:
                found += [
                    (f"{prefix}{item.name}.{key}", owner, inner, getattr(default, key, None))
                    for key, inner in value.items()
                ]
        elif owner is not None:
            found.append((f"{prefix}{item.name}", owner, value, default))
    return found


def _refuse_other_tasks_keys(raw: dict[str, Any], where: str) -> None:
    """A config sets only its own task's fields (and the common ones): another task's is an error."""
    task = raw.get("task", Config.task)
    for key, owner, value, default in _owned_fields(Config, raw):
        if owner != task and _plain(value) != _plain(default):
            raise ConfigError(
                f"{where}: {key} is a {owner} setting, and this config's task is {task!r}: remove it, or set "
                f"task = {owner!r}"
            )


def _plain(value: Any) -> Any:
    """A value as JSON holds it (tuples as lists, sections as dicts), for comparing a raw value with a default."""
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    return json.loads(json.dumps(value))


def shipped_configs() -> list[Path]:
    """The config files under ``configs/`` (their ``_base_`` parts left out): the working directory's
    ``configs/`` when there is one, else the mobilevit source checkout's."""
    for folder in (Path.cwd() / "configs", Path(__file__).resolve().parents[2] / "configs"):
        if folder.is_dir():
            return sorted(path for path in folder.rglob("*.py") if "_base_" not in path.relative_to(folder).parts)
    return []


def to_dict(config: Config) -> dict[str, Any]:
    """A plain, JSON-serialisable dict of a config (saved next to every checkpoint): the common
    sections and its own task's, without the fields other tasks own."""
    return _own_fields(config, config.task)


def _own_fields(section: Any, task: str) -> dict[str, Any]:
    plain = {}
    for item in dataclasses.fields(section):
        if item.metadata.get("task", task) != task:
            continue
        value = getattr(section, item.name)
        plain[item.name] = _own_fields(value, task) if dataclasses.is_dataclass(value) else _plain(value)
    return plain


def _read_with_bases(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    path = path.resolve()
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    if path in chain:
        raise ConfigError(f"config files inherit from each other in a cycle: {' -> '.join(map(str, chain + (path,)))}")
    if path.suffix == ".json":  # a resolved config, as saved next to training checkpoints
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"cannot read config {path}: {error}") from None
        if not isinstance(content, dict):
            raise ConfigError(
                f'{path}: a JSON config must be an object of sections ({{"model": {{...}}, ...}}), '
                f"got a {type(content).__name__}"
            )
        return content
    try:
        namespace = runpy.run_path(str(path))
    except Exception as error:  # a config is user code: report where it failed
        raise ConfigError(f"cannot execute config {path}: {type(error).__name__}: {error}") from error
    bases = namespace.get("_base_", [])
    bases = [bases] if isinstance(bases, str) else bases
    if not isinstance(bases, (list, tuple)) or not all(isinstance(base, str) and base for base in bases):
        raise ConfigError(
            f"{path}: _base_ must be a config file name or a list of them (relative to the config), got {bases!r}"
        )
    merged: dict[str, Any] = {}
    for base in bases:
        _merge(merged, _read_with_bases(path.parent / base, chain + (path,)))
    own = {
        key: value
        for key, value in namespace.items()
        if not key.startswith("_") and not isinstance(value, (types.ModuleType, types.FunctionType, type))
    }
    _merge(merged, own)
    return merged


def _merge(base: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and value.get("_delete_"):
            base[key] = {k: v for k, v in value.items() if k != "_delete_"}
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _apply_override(raw: dict[str, Any], override: str) -> None:
    key, separator, text = override.partition("=")
    if not separator or not key:
        raise ConfigError(f"override {override!r} is not of the form key.sub=value")
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = text  # a bare word is a string
    *parents, leaf = key.split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {override!r}: {part!r} is not a section")
    node[leaf] = value


def from_dict(schema: type, raw: Any, where: str, prefix: str = "") -> Any:
    """Build dataclass ``schema`` from ``raw``, refusing unknown keys with a suggestion.

    ``where`` (the file) and ``prefix`` (the dotted section, ``optim.``) locate errors.
    """
    if dataclasses.is_dataclass(raw) and isinstance(raw, schema):
        return raw
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: {prefix.rstrip('.') or 'the config'} must be a dict, got {raw!r}")
    fields = {f.name: f for f in dataclasses.fields(schema)}
    hints = typing.get_type_hints(schema)
    values = {}
    for key, value in raw.items():
        if key not in fields:
            raise ConfigError(_unknown_key(key, fields, where, prefix))
        values[key] = _coerce(hints[key], value, where, f"{prefix}{key}")
    try:
        return schema(**values)
    except FieldError as error:  # the section's own checks of its values
        raise ConfigError(f"{where}: {prefix}{error.field} {error.problem}") from None


def _unknown_key(key: str, fields: Sequence[str], where: str, prefix: str) -> str:
    close = difflib.get_close_matches(key, fields, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ", which is not close to any valid key."
    valid = f"The keys of section {prefix.rstrip('.')!r} are" if prefix else "The sections of a config are"
    return f"{where}: unknown key {prefix + key!r}{hint} {valid}: {', '.join(sorted(fields))}"


def _coerce(hint: Any, value: Any, where: str, key: str) -> Any:
    """Read sections into their dataclass, lists into tuples and integers into floats where the
    hint says so; the section's ``__post_init__`` checks every value."""
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where, prefix=f"{key}.")
    origin = typing.get_origin(hint)
    if origin is types.UnionType and type(None) in typing.get_args(hint):  # an optional value
        if value is None:
            return None
        (hint,) = (member for member in typing.get_args(hint) if member is not type(None))
        origin = typing.get_origin(hint)
    if origin is tuple and isinstance(value, (list, tuple)):
        item = typing.get_args(hint)[0]
        return tuple(float(part) if item is float and checks.is_of_type(part, float) else part for part in value)
    if hint is float and checks.is_of_type(value, float):
        return float(value)
    return value
