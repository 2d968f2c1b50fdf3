"""Weights on the Hugging Face Hub, named ``hf-hub:<org>/<repo>[@revision]`` as timm names them.

Two kinds of repository are read:

- Hugging Face's (``apple/mobilevit-small``, ``apple/deeplabv3-mobilevit-small``): ``config.json``
  with ``model_type`` and ``id2label``, ``model.safetensors`` or ``pytorch_model.bin``, and the
  image processor's ``preprocessor_config.json``;
- timm's (``timm/mobilevit_s.cvnets_in1k``): ``config.json`` with ``architecture`` and
  ``pretrained_cfg``, and ``model.safetensors``.

The files are fetched by ``huggingface_hub`` (the optional extra ``mobilevit[hub]``), so its cache
(``HF_HOME``, ``HF_HUB_CACHE``), revisions, tokens (``HF_TOKEN``, ``hf auth login``), endpoint
(``HF_ENDPOINT``) and offline mode (``HF_HUB_OFFLINE=1``) work as in every library built on it;
it reads those variables once, when it is first imported. The weights file is then read like any
local checkpoint (:func:`mobilevit.checkpoint.read_checkpoint`); what the repository says beside
it (class names, preprocessing, output stride) becomes the checkpoint's metadata.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .convert import CheckpointError
from .data.transforms import Preprocessing
from .download import DownloadError
from .errors import MissingPackageError, UsageError

PREFIX = "hf-hub:"
# The repositories this library reads: Hugging Face's ``model_type`` and timm's ``architecture``
# of each model family whose layouts mobilevit.convert maps (a new family adds its names here).
HUGGINGFACE_MODEL_TYPES = ("mobilevit",)
TIMM_ARCHITECTURES = ("mobilevit_xxs", "mobilevit_xs", "mobilevit_s")
# The weights files of a repository, in order of preference.
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# PIL's resampling codes, as image processors save them.
_PIL_RESAMPLING = {2: "bilinear", 3: "bicubic"}
# transformers' placeholder names of classes a config leaves unnamed.
_PLACEHOLDER_LABEL = re.compile(r"LABEL_\d+")
_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


@dataclass(frozen=True)
class HubWeights:
    """The cached weights file of a Hub repository and what the repository says about them:
    ``class_names``, ``preprocessing`` (as our format's header writes it), ``output_stride`` where
    given, and ``hub`` (the name, the repository's kind and the commit read)."""

    weights: Path
    metadata: dict[str, Any]


def is_hub_name(source: Any) -> bool:
    """Whether ``source`` is an ``hf-hub:`` name rather than a path, URL or zoo name."""
    return isinstance(source, str) and source.startswith(PREFIX)


def parse_hub_name(name: str) -> tuple[str, str | None]:
    """The repository id and revision (None: the default branch) of ``hf-hub:<org>/<repo>[@revision]``."""
    repo_id, _, revision = name[len(PREFIX) :].partition("@")
    if not _REPO_ID.fullmatch(repo_id) or (revision == "" and "@" in name):
        raise UsageError(
            f"cannot read the Hub name {name!r}: expected hf-hub:<org>/<repo> or hf-hub:<org>/<repo>@<revision>, "
            "such as hf-hub:apple/mobilevit-small"
        )
    return repo_id, revision or None


def download(name: str) -> HubWeights:
    """Fetch (or find in the cache) the config and weights of the repository ``name`` names."""
    repo_id, revision = parse_hub_name(name)
    config_path = _fetch(name, repo_id, revision, "config.json")
    config = _read_json(config_path, name)
    if "pretrained_cfg" in config or "architecture" in config:
        kind = "timm"
        _check_family(name, config.get("architecture"), TIMM_ARCHITECTURES, "architecture")
        metadata = timm_metadata(config, name)
    else:
        kind = "huggingface"
        _check_family(name, config.get("model_type"), HUGGINGFACE_MODEL_TYPES, "model_type")
        processor_path = _fetch(name, repo_id, revision, "preprocessor_config.json", optional=True)
        processor = None if processor_path is None else _read_json(processor_path, name)
        metadata = huggingface_metadata(config, processor, name)
    weights = _fetch_weights(name, repo_id, revision)
    commit = weights.parent.name  # huggingface_hub keeps a revision's files under snapshots/<commit>/
    metadata["hub"] = {"name": name, "kind": kind, "commit": commit}
    return HubWeights(weights, metadata)


def huggingface_metadata(config: dict[str, Any], processor: dict[str, Any] | None, name: str) -> dict[str, Any]:
    """Class names, preprocessing and output stride of a Hugging Face repository's configs."""
    metadata: dict[str, Any] = {}
    id2label = config.get("id2label") or {}
    if not isinstance(id2label, dict) or not all(str(key).isdigit() for key in id2label):
        raise CheckpointError(f"{name}: config.json id2label must map class indices to names; got {id2label!r:.100}")
    names = [id2label[key] for key in sorted(id2label, key=int)]
    if names and not all(_PLACEHOLDER_LABEL.fullmatch(str(label)) for label in names):
        metadata["class_names"] = [str(label) for label in names]
    if processor is not None:
        preprocessing = huggingface_preprocessing(processor, name)
        metadata["preprocessing"] = dataclasses.asdict(preprocessing)
    if "MobileViTForSemanticSegmentation" in (config.get("architectures") or ()):
        metadata["output_stride"] = config.get("output_stride", 32)
    return metadata


def huggingface_preprocessing(processor: dict[str, Any], name: str = "") -> Preprocessing:
    """Our :class:`Preprocessing` of a ``MobileViTImageProcessor``'s settings: resize, centre crop,
    rescale and, with ``do_flip_channel_order``, BGR (the published weights' input)."""
    where = f"{name}: preprocessor_config.json" if name else "preprocessor_config.json"
    interpolation = _PIL_RESAMPLING.get(processor.get("resample", 3))
    if interpolation is None:
        raise CheckpointError(f"{where}: resample {processor.get('resample')!r} is not bilinear (2) or bicubic (3)")
    if processor.get("do_normalize"):
        raise CheckpointError(f"{where}: do_normalize is set, which MobileViT's image processor does not do")
    scale = processor.get("rescale_factor", 1 / 255) if processor.get("do_rescale", True) else 1.0
    crop = _square(processor.get("crop_size", 256), where, "crop_size")
    size = processor.get("size", {"shortest_edge": 224})
    if not processor.get("do_resize", True):
        raise CheckpointError(f"{where}: do_resize is false; MobileViT's weights need a fixed input size")
    if isinstance(size, dict) and "shortest_edge" in size:
        geometry = {"resize_short": int(size["shortest_edge"]), "crop_size": crop, "keep_aspect_ratio": True}
        if not processor.get("do_center_crop", True):
            raise CheckpointError(f"{where}: resizing the shortest edge without a centre crop gives no fixed size")
    else:  # the whole image resized to a square (the segmentation weights' protocol) or an int (older files)
        side = _square(size, where, "size")
        if processor.get("do_center_crop", True) and crop < side:
            geometry = {"resize_short": side, "crop_size": crop, "keep_aspect_ratio": not isinstance(size, dict)}
        else:
            geometry = {"resize_short": side, "crop_size": side, "keep_aspect_ratio": not isinstance(size, dict)}
    return Preprocessing(
        **geometry,
        interpolation=interpolation,
        channel_order="BGR" if processor.get("do_flip_channel_order", True) else "RGB",
        mean=(0.0, 0.0, 0.0),
        std=(1 / scale,) * 3,
    )


def timm_metadata(config: dict[str, Any], name: str) -> dict[str, Any]:
    """Class names and preprocessing of a timm repository's ``config.json``."""
    metadata: dict[str, Any] = {}
    pretrained = config.get("pretrained_cfg", {})
    labels = config.get("label_names") or pretrained.get("label_names")
    descriptions = config.get("label_descriptions") or pretrained.get("label_descriptions") or {}
    if isinstance(labels, list) and labels:
        metadata["class_names"] = [str(descriptions.get(label, label)) for label in labels]
    metadata["preprocessing"] = dataclasses.asdict(timm_preprocessing(pretrained, name))
    return metadata


def timm_preprocessing(pretrained_cfg: dict[str, Any], name: str = "") -> Preprocessing:
    """Our :class:`Preprocessing` of a timm ``pretrained_cfg``, for the weights converted to take BGR:
    timm feeds RGB scaled to [0, 1] then normalised by ``mean`` and ``std``; the converter reverses
    the stem's input channels, so the mean and std are reversed too and scaled to 0-255."""
    where = f"{name}: config.json pretrained_cfg" if name else "pretrained_cfg"
    input_size = pretrained_cfg.get("input_size", (3, 256, 256))
    if len(input_size) != 3 or input_size[1] != input_size[2]:
        raise CheckpointError(f"{where}: input_size {input_size} is not (3, N, N)")
    crop = int(input_size[1])
    crop_mode = pretrained_cfg.get("crop_mode", "center")
    if crop_mode not in ("center", "squash"):
        raise CheckpointError(f"{where}: crop_mode {crop_mode!r} is not 'center' or 'squash'")
    interpolation = pretrained_cfg.get("interpolation", "bicubic")
    if interpolation not in ("bilinear", "bicubic"):
        raise CheckpointError(f"{where}: interpolation {interpolation!r} is not bilinear or bicubic")
    resize = math.floor(crop / pretrained_cfg.get("crop_pct", 0.875))  # timm's transforms_factory
    mean = [255 * value for value in reversed(pretrained_cfg.get("mean", (0.485, 0.456, 0.406)))]
    std = [255 * value for value in reversed(pretrained_cfg.get("std", (0.229, 0.224, 0.225)))]
    return Preprocessing(
        resize_short=resize,
        crop_size=crop,
        interpolation=interpolation,
        channel_order="BGR",
        mean=tuple(mean),
        std=tuple(std),
        keep_aspect_ratio=crop_mode == "center",
    )


def _square(size: Any, where: str, field: str) -> int:
    """The side of a square size given as an int or ``{"height": h, "width": w}``."""
    if isinstance(size, int):
        return size
    if isinstance(size, dict) and size.get("height") == size.get("width") and isinstance(size.get("height"), int):
        return size["height"]
    raise CheckpointError(f"{where}: {field} {size!r} is not a square (an int or equal height and width)")


def _check_family(name: str, value: Any, accepted: tuple[str, ...], field: str) -> None:
    if value not in accepted:
        raise CheckpointError(
            f"{name} holds a {value!r} model (config.json {field}), which this mobilevit does not read: "
            f"expected {field} {' or '.join(accepted)}"
        )


def _read_json(path: Path, name: str) -> dict[str, Any]:
    try:
        content = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{name}: cannot read {Path(path).name}: {error}") from None
    if not isinstance(content, dict):
        raise CheckpointError(f"{name}: {Path(path).name} is not a JSON object")
    return content


def _fetch_weights(name: str, repo_id: str, revision: str | None) -> Path:
    for filename in WEIGHT_FILES:
        path = _fetch(name, repo_id, revision, filename, optional=True)
        if path is not None:
            return path
    raise DownloadError(f"{name} has none of the weights files {', '.join(WEIGHT_FILES)}")


def _fetch(name: str, repo_id: str, revision: str | None, filename: str, optional: bool = False) -> Path | None:
    """The cached copy of one file of the repository (None for a missing ``optional`` one); every
    failure is one line saying what went wrong."""
    hub = _huggingface_hub()
    from huggingface_hub import errors

    try:
        return Path(hub.hf_hub_download(repo_id, filename, revision=revision))
    except errors.GatedRepoError:
        raise DownloadError(
            f"{name} is gated: accept its conditions on the Hub, then log in (hf auth login) or set HF_TOKEN"
        ) from None
    except errors.RepositoryNotFoundError:
        raise DownloadError(
            f"no repository {repo_id} on the Hub at {hub.constants.ENDPOINT} (or it is private: log in "
            "with hf auth login or set HF_TOKEN)"
        ) from None
    except errors.RevisionNotFoundError:
        raise DownloadError(f"{repo_id} has no revision {revision!r} on the Hub") from None
    except errors.RemoteEntryNotFoundError:
        if optional:
            return None
        raise DownloadError(f"{name} has no file {filename}") from None
    except errors.LocalEntryNotFoundError:
        if optional and _known_missing(hub, repo_id, revision, filename):
            return None
        if hub.constants.HF_HUB_OFFLINE:
            raise DownloadError(
                f"{name}: {filename} is not in the Hugging Face cache ({hub.constants.HF_HUB_CACHE}) and "
                "HF_HUB_OFFLINE is set: download it once online"
            ) from None
        raise DownloadError(
            f"cannot reach the Hub at {hub.constants.ENDPOINT} for {name}, and {filename} is not in the "
            f"Hugging Face cache ({hub.constants.HF_HUB_CACHE}): check the network or HF_ENDPOINT"
        ) from None
    except (errors.HfHubHTTPError, OSError) as error:
        reason = " ".join(str(error).split())
        raise DownloadError(f"cannot download {filename} of {name}: {reason}") from None


def _known_missing(hub: Any, repo_id: str, revision: str | None, filename: str) -> bool:
    """Whether the cache recorded, when online, that the repository has no such file."""
    return hub.try_to_load_from_cache(repo_id, filename, revision=revision) is hub.file_download._CACHED_NO_EXIST


def _huggingface_hub() -> Any:
    try:
        import huggingface_hub
    except ImportError:
        raise MissingPackageError(
            "hf-hub: names need the huggingface_hub package: pip install 'mobilevit[hub]'"
        ) from None
    return huggingface_hub
