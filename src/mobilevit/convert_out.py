"""Our weights written in the peers' own layouts: Hugging Face, timm, mmpretrain and ml-cvnets.

The renames are the rename tables of :mod:`mobilevit.convert` read backwards: each row
``(their prefix, our prefix)`` maps a key of ours that matches its right side to the left side's
name. Where two rows can give a key of ours (Hugging Face names the opening block of a stage with a
transformer ``downsampling_layer``, of the other stages ``layer.0``), the stage's kind decides.
A key that no row matches, or two keys that land on one name, fail loudly, as reading does.

Channel order: ours, mmpretrain's, ml-cvnets' and Hugging Face's weights take BGR (Hugging Face's
image processor flips RGB to BGR, ``do_flip_channel_order``); timm feeds RGB, so the timm writer
reverses the stem's input channels of a model that takes BGR, the inverse of :func:`convert.from_timm`.

:func:`to_layout` is the pure ``state_dict -> state_dict`` step; :func:`save_layout` writes the
files each peer loads (a Hugging Face folder with ``config.json`` and ``preprocessor_config.json``,
timm's state dict or Hub folder, mmpretrain's and ml-cvnets' checkpoint files).
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from .convert import (
    CVNETS_DEEPLABV3_ROWS,
    CVNETS_ROWS,
    CVNETS_SSD_ROWS,
    CVNETS_V2_ROWS,
    CVNETS_V2_SSD_ROWS,
    HUGGINGFACE_DEEPLABV3_ROWS,
    HUGGINGFACE_ROWS,
    HUGGINGFACE_V2_DEEPLABV3_ROWS,
    HUGGINGFACE_V2_ROWS,
    TIMM_ROWS,
    TIMM_V2_ROWS,
    CheckpointError,
    Rows,
    StateDict,
    from_mobilevit,
    is_v2_state_dict,
)
from .data.transforms import Preprocessing
from .errors import UsageError
from .models import ARCHS, V2_ARCHS, MobileNetV2Stage, MobileViTStage, is_v2_arch, resolve_arch

# The peers a checkpoint can be written for (``mobilevit convert --to``, in the order of
# :data:`mobilevit.names.PEER_LAYOUTS`), and what each can hold: its layouts, first match of the
# model's family wins (v2's layouts end in ``_v2`` or hold ``_v2_``), each with the rename table
# that writes it (None: our own names).
TARGETS: dict[str, tuple[tuple[str, Rows | None], ...]] = {
    "huggingface": (
        ("huggingface", HUGGINGFACE_ROWS),
        ("huggingface_deeplabv3", HUGGINGFACE_DEEPLABV3_ROWS),
        ("huggingface_v2", HUGGINGFACE_V2_ROWS),
        ("huggingface_v2_deeplabv3", HUGGINGFACE_V2_DEEPLABV3_ROWS),
    ),
    "timm": (("timm", TIMM_ROWS), ("timm_v2", TIMM_V2_ROWS)),
    "mmpretrain": (("mmpretrain", None),),
    "cvnets": (
        ("cvnets", CVNETS_ROWS),
        ("cvnets_deeplabv3", CVNETS_DEEPLABV3_ROWS),
        ("cvnets_ssd", CVNETS_SSD_ROWS),
        ("cvnets_v2", CVNETS_V2_ROWS),
        ("cvnets_v2_ssd", CVNETS_V2_SSD_ROWS),
    ),
}
_HOLDS = {
    "huggingface": "classifiers (MobileViTForImageClassification, MobileViTV2ForImageClassification) and DeepLabv3 "
    "segmenters (MobileViTForSemanticSegmentation, MobileViTV2ForSemanticSegmentation)",
    "timm": "classifiers and backbones only (v1 and v2)",
    "mmpretrain": "v1 classifiers only (its MobileViT is a v1 classification backbone; it has no v2)",
    "cvnets": "classifiers, DeepLabv3 segmenters and SSDLite detectors (of v2, classifiers and SSDLite detectors "
    "so far)",
}
# timm's names of the named archs.
TIMM_ARCHITECTURES = {"small": "mobilevit_s", "x_small": "mobilevit_xs", "xx_small": "mobilevit_xxs"}
# Files that hold a bare state dict: a timm destination with another name is written as a Hub folder.
_STATE_DICT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")
_RESAMPLING = {"bilinear": 2, "bicubic": 3}  # PIL's codes, as image processors save them
_QKV = ("query", "key", "value")
_FUSED_PROJECTION = re.compile(r"(?P<module>.*\.attention\.attention)\.qkv\.(?P<param>weight|bias)")


def layout_for(state_dict: Mapping[str, torch.Tensor], target: str) -> str:
    """The layout of ``target`` that holds this model (its rename table covers every key)."""
    if target not in TARGETS:
        raise UsageError(f"unknown target layout {target!r}; expected one of {', '.join(TARGETS)}")
    layouts = [
        (layout, rows) for layout, rows in TARGETS[target] if _is_v2_layout(layout) == is_v2_state_dict(state_dict)
    ]
    for layout, rows in layouts:
        if rows is None:  # our own names, which mmpretrain has for its classifiers
            fits = _kind(state_dict) == "a classifier"
        else:
            fits = all(_matches(key, rows) for key in state_dict)
        if fits:
            return layout
    raise CheckpointError(
        f"cannot write {_kind(state_dict, family=True)} in {target}'s layout: {target} holds {_HOLDS[target]}"
        f"{_unmatched_hint(state_dict, layouts[-1][1] if layouts else None)}"
    )


def to_layout(state_dict: Mapping[str, torch.Tensor], layout: str, channel_order: str = "BGR") -> StateDict:
    """Rename a state dict of ours into ``layout`` (``huggingface``, ``huggingface_deeplabv3``,
    ``timm``, ``mmpretrain``, ``cvnets``, ``cvnets_deeplabv3``, ``cvnets_ssd``; for v2
    ``huggingface_v2``, ``huggingface_v2_deeplabv3``, ``timm_v2``, ``cvnets_v2``, ``cvnets_v2_ssd``).

    ``channel_order`` is the input our weights take; a timm state dict takes RGB, so for BGR
    weights the stem's input channels are reversed.
    """
    rows = {layout: rows for target in TARGETS.values() for layout, rows in target}
    if layout not in rows:
        raise UsageError(f"unknown layout {layout!r}; expected one of {', '.join(rows)}")
    if rows[layout] is None:
        return from_mobilevit(state_dict)
    if layout.startswith("huggingface"):
        return split_qkv(rename_back(state_dict, rows[layout], choose=_huggingface_block))
    renamed = rename_back(state_dict, rows[layout])
    if layout.startswith("timm") and channel_order == "BGR":
        stem = renamed["stem.conv.weight"]
        if stem.ndim != 4 or stem.shape[1] != 3:
            raise CheckpointError(f"backbone.stem.conv.weight has shape {tuple(stem.shape)}; expected (out, 3, k, k)")
        renamed["stem.conv.weight"] = stem.flip(1)  # BGR -> RGB input channels
    return renamed


def rename_back(
    state_dict: Mapping[str, torch.Tensor],
    rows: Rows,
    choose: Callable[[str, list[str], Mapping[str, torch.Tensor]], str] | None = None,
) -> StateDict:
    """Rename every key of ours by the rows whose right side matches it; ``choose`` picks among
    several different names. Fails on unmatched, ambiguous or colliding keys."""
    patterns = [(_compile(ours), theirs) for theirs, ours in rows]
    renamed: StateDict = {}
    unmatched, collisions, ambiguous = [], [], []
    for key, value in state_dict.items():
        names = sorted({_format(theirs, match) for pattern, theirs in patterns if (match := pattern.match(key))})
        if not names:
            unmatched.append(key)
            continue
        if len(names) > 1 and choose is None:
            ambiguous.append(f"{key} -> {' or '.join(names)}")
            continue
        name = names[0] if len(names) == 1 else choose(key, names, state_dict)
        if name in renamed:
            collisions.append(f"{key} -> {name}")
        renamed[name] = value
    if unmatched or collisions or ambiguous:
        raise CheckpointError(
            f"cannot write the layout: {len(unmatched)} keys match no rename rule {_sample(unmatched)}; "
            f"{len(ambiguous)} keys have several names {_sample(ambiguous)}; {len(collisions)} keys collide "
            f"{_sample(collisions)}"
        )
    if len(renamed) != len(state_dict):
        raise CheckpointError(f"renaming {len(state_dict)} keys gave {len(renamed)}")
    return renamed


def split_qkv(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    """Replace each fused ``...attention.attention.qkv.{weight,bias}`` by Hugging Face's query, key
    and value (the inverse of :func:`mobilevit.convert.fuse_qkv`)."""
    split: StateDict = {}
    for key, value in state_dict.items():
        match = _FUSED_PROJECTION.fullmatch(key)
        if match is None:
            split[key] = value
            continue
        if value.shape[0] % 3:
            raise CheckpointError(f"{key} has {value.shape[0]} rows, not three equal parts")
        for part, chunk in zip(_QKV, value.chunk(3, dim=0)):
            split[f"{match['module']}.{part}.{match['param']}"] = chunk.clone()
    return split


def save_layout(
    destination: str | os.PathLike,
    target: str,
    state_dict: Mapping[str, torch.Tensor],
    arch: str | Sequence,
    preprocessing: Preprocessing = Preprocessing(),
    class_names: Sequence[str] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> Path:
    """Write a model of ours (weights, arch, preprocessing, class names and the settings that shape
    no tensor, ``Task.settings_of``) as ``target`` loads it; returns what was written (a file or a
    folder). Of the settings, a segmenter's ``output_stride`` and ``atrous_rates`` go into Hugging
    Face's config; ml-cvnets keeps a detector's decoding settings in its config, not its checkpoint.

    - ``huggingface``: a folder for ``from_pretrained`` (``config.json`` with ``id2label``,
      ``preprocessor_config.json``, ``model.safetensors``);
    - ``timm``: a state dict its model loads strictly (``.safetensors``, ``.pth``, ``.pt`` or
      ``.bin``), or under any other name a Hub folder (``config.json`` with ``pretrained_cfg``,
      ``model.safetensors``) that ``timm.create_model("local-dir:...")`` reads;
    - ``mmpretrain``: a ``.pth`` with ``state_dict`` and ``meta``, as mmengine saves;
    - ``cvnets``: a ``.pt`` state dict, as ml-cvnets publishes its weights.
    """
    layout = layout_for(state_dict, target)
    converted = to_layout(state_dict, layout, preprocessing.channel_order)
    destination = Path(destination)
    tensors = {key: value.detach().cpu().contiguous() for key, value in converted.items()}
    if target == "huggingface":
        describe = huggingface_v2_config if _is_v2_layout(layout) else huggingface_config
        config = describe(arch, state_dict, layout, preprocessing, class_names, settings or {})
        files = {"config.json": config, "preprocessor_config.json": huggingface_processor(preprocessing)}
        return _write_folder(destination, tensors, files)
    if target == "timm":
        if destination.suffix in _STATE_DICT_SUFFIXES:
            return _write_state_dict(destination, tensors)
        config = timm_config(arch, state_dict, preprocessing, class_names)
        return _write_folder(destination, tensors, {"config.json": config})
    if target == "mmpretrain":
        meta = {"dataset_meta": {"classes": list(class_names)}} if class_names else {}
        return _write_state_dict(destination, {"meta": meta, "state_dict": tensors})
    return _write_state_dict(destination, tensors)


def huggingface_config(
    arch: str | Sequence,
    state_dict: Mapping[str, torch.Tensor],
    layout: str,
    preprocessing: Preprocessing,
    class_names: Sequence[str] | None,
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """The ``config.json`` of Hugging Face's ``MobileViTConfig`` for our arch; an arch it cannot
    describe (it fixes the stages' block counts and depths) is refused, naming the difference."""
    stages = resolve_arch(arch)
    expected = ((MobileNetV2Stage, 1, 1), (MobileNetV2Stage, 2, 3), (MobileViTStage, 2, 2))
    expected += ((MobileViTStage, 2, 4), (MobileViTStage, 2, 3))
    found = [(type(stage), stage.stride, getattr(stage, "num_blocks", getattr(stage, "depth", 0))) for stage in stages]
    transformers = [stage for stage in stages if isinstance(stage, MobileViTStage)]
    ratios = {stage.ffn_dim / stage.transformer_dim for stage in transformers}
    expands = {stage.expand_ratio for stage in stages}
    if found != list(expected) or len(ratios) != 1 or len(expands) != 1:
        raise CheckpointError(
            "Hugging Face's MobileViTConfig describes five stages: MobileNetV2 stages of 1 and 3 blocks (strides "
            "1, 2), then three MobileViT stages of 2, 4 and 3 transformer layers (stride 2), one expand ratio "
            f"and one FFN ratio for all; this arch has {[_describe(stage) for stage in stages]}"
        )
    if any(stage.transformer_dim % 4 for stage in transformers):
        raise CheckpointError("Hugging Face's MobileViT has 4 attention heads: every transformer dim must divide by 4")
    last = stages[-1].out_channels
    expansion = state_dict.get("backbone.conv_1x1_exp.conv.weight")
    segmenter = layout == "huggingface_deeplabv3"
    config: dict[str, Any] = {
        "model_type": "mobilevit",
        "architectures": ["MobileViTForSemanticSegmentation" if segmenter else "MobileViTForImageClassification"],
        "num_channels": 3,
        "image_size": preprocessing.crop_size,
        "patch_size": 2,
        "hidden_sizes": [stage.transformer_dim for stage in transformers],
        "neck_hidden_sizes": [
            int(state_dict["backbone.stem.conv.weight"].shape[0]),
            *(stage.out_channels for stage in stages),
            int(expansion.shape[0]) if expansion is not None else 4 * last,
        ],
        "num_attention_heads": 4,
        "mlp_ratio": ratios.pop(),
        "expand_ratio": float(expands.pop()),
        "hidden_act": "silu",
        "conv_kernel_size": 3,
        "output_stride": settings.get("output_stride", 16) if segmenter else 32,
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.0,
        "classifier_dropout_prob": 0.1,
        "layer_norm_eps": 1e-5,
        "qkv_bias": True,
    }
    return config | _huggingface_labels_and_head(state_dict, class_names, settings, segmenter)


def huggingface_v2_config(
    arch: str | Sequence,
    state_dict: Mapping[str, torch.Tensor],
    layout: str,
    preprocessing: Preprocessing,
    class_names: Sequence[str] | None,
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """The ``config.json`` of Hugging Face's ``MobileViTV2Config`` for a named v2 width; it derives
    every channel from ``width_multiplier`` by ml-cvnets' rules, as our arch table does."""
    if not is_v2_arch(arch):
        raise CheckpointError(
            f"Hugging Face's MobileViTV2Config describes the named v2 widths ({', '.join(V2_ARCHS)}); got arch {arch!r}"
        )
    width = V2_ARCHS[arch.lower()]  # type: ignore[union-attr]
    transformers = [stage for stage in width.stages if isinstance(stage, MobileViTStage)]
    segmenter = layout == "huggingface_v2_deeplabv3"
    config: dict[str, Any] = {
        "model_type": "mobilevitv2",
        "architectures": ["MobileViTV2ForSemanticSegmentation" if segmenter else "MobileViTV2ForImageClassification"],
        "num_channels": 3,
        "image_size": preprocessing.crop_size,
        "patch_size": 2,
        "width_multiplier": width.width_multiplier,
        "n_attn_blocks": [stage.depth for stage in transformers],
        "base_attn_unit_dims": [128, 192, 256],  # scaled by the width, as ours (models/mobilevit_v2.py)
        "ffn_multiplier": transformers[0].ffn_dim // transformers[0].transformer_dim,
        "expand_ratio": float(transformers[0].expand_ratio),
        "hidden_act": "swish",
        "conv_kernel_size": 3,
        "output_stride": settings.get("output_stride", 16) if segmenter else 32,
        "classifier_dropout_prob": 0.1,
        "attn_dropout": 0.0,
        "ffn_dropout": 0.0,
        "layer_norm_eps": 1e-5,
    }
    return config | _huggingface_labels_and_head(state_dict, class_names, settings, segmenter)


def _huggingface_labels_and_head(
    state_dict: Mapping[str, torch.Tensor],
    class_names: Sequence[str] | None,
    settings: Mapping[str, Any],
    segmenter: bool,
) -> dict[str, Any]:
    """The class names of a Hugging Face config, and a segmenter's ASPP settings."""
    num_classes = _num_classes(state_dict)
    names = list(class_names) if class_names else [f"LABEL_{index}" for index in range(num_classes or 0)]
    config: dict[str, Any] = {
        "id2label": {str(index): name for index, name in enumerate(names)},
        "label2id": {name: index for index, name in enumerate(names)},
    }
    if segmenter:
        config.update(
            aspp_out_channels=int(state_dict["head.aspp.project.0.weight"].shape[0]),
            atrous_rates=list(settings.get("atrous_rates", (6, 12, 18))),
            aspp_dropout_prob=0.1,
            semantic_loss_ignore_index=255,
        )
    return config


def huggingface_processor(preprocessing: Preprocessing) -> dict[str, Any]:
    """The ``preprocessor_config.json`` of a ``MobileViTImageProcessor`` preparing images as
    ``preprocessing`` does; it only rescales, so a mean or per-channel std cannot be written."""
    if any(preprocessing.mean) or len(set(preprocessing.std)) != 1:
        raise CheckpointError(
            f"Hugging Face's MobileViTImageProcessor only rescales by one factor: the preprocessing's mean "
            f"{preprocessing.mean} and std {preprocessing.std} cannot be written (mean must be 0, std one value)"
        )
    crop = {"height": preprocessing.crop_size, "width": preprocessing.crop_size}
    return {
        "image_processor_type": "MobileViTImageProcessor",
        "do_resize": True,
        "size": {"shortest_edge": preprocessing.resize_short} if preprocessing.keep_aspect_ratio else crop,
        "resample": _RESAMPLING[preprocessing.interpolation],
        "do_center_crop": preprocessing.keep_aspect_ratio and not preprocessing.size_multiple,
        "crop_size": crop,
        "do_rescale": True,
        "rescale_factor": 1 / preprocessing.std[0],
        "do_flip_channel_order": preprocessing.channel_order == "BGR",
        "do_reduce_labels": False,
    }


def timm_config(
    arch: str | Sequence,
    state_dict: Mapping[str, torch.Tensor],
    preprocessing: Preprocessing,
    class_names: Sequence[str] | None,
) -> dict[str, Any]:
    """timm's Hub ``config.json`` (``architecture``, ``pretrained_cfg``) for a named arch; timm
    builds its models by name, so a custom arch is refused."""
    if is_v2_arch(arch):
        name: str | None = f"mobilevitv2_{arch.lower()[len('v2_') :]}"  # type: ignore[union-attr]
    else:
        stages = resolve_arch(arch)
        name = next((TIMM_ARCHITECTURES[key] for key, value in ARCHS.items() if value == stages), None)
    if name is None:
        raise CheckpointError(
            f"timm builds MobileViT by name ({', '.join(TIMM_ARCHITECTURES.values())}, mobilevitv2_050 ... "
            "mobilevitv2_200); a custom arch has none"
        )
    crop, resize = preprocessing.crop_size, preprocessing.resize_short
    crop_pct = crop / resize
    if math.floor(crop / crop_pct) != resize:  # timm resizes to floor(crop / crop_pct)
        crop_pct = crop / (resize + 0.5)
    num_classes = _num_classes(state_dict) or 0
    order = slice(None, None, -1) if preprocessing.channel_order == "BGR" else slice(None)  # timm's are RGB
    config: dict[str, Any] = {
        "architecture": name,
        "num_classes": num_classes,
        "num_features": _num_features(state_dict),
        "pretrained_cfg": {
            "input_size": [3, crop, crop],
            "interpolation": preprocessing.interpolation,
            "crop_pct": crop_pct,
            "crop_mode": "center" if preprocessing.keep_aspect_ratio else "squash",
            "mean": [value / 255 for value in preprocessing.mean[order]],
            "std": [value / 255 for value in preprocessing.std[order]],
            "num_classes": num_classes,
            "first_conv": "stem.conv",
            "classifier": "head.fc",
            "fixed_input_size": False,
        },
    }
    if class_names:
        config["label_names"] = list(class_names)
    return config


def _write_folder(folder: Path, tensors: dict[str, torch.Tensor], files: dict[str, dict[str, Any]]) -> Path:
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"{folder} is a file; the layout is written as a folder: give a folder path")
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    for name, content in files.items():
        (folder / name).write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    return folder


def _write_state_dict(path: Path, content: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".safetensors":
        save_file(content, str(path), metadata={"format": "pt"})
    else:
        torch.save(content, path)
    return path


def _num_features(state_dict: Mapping[str, torch.Tensor]) -> int:
    """The channels the classifier pools: v1's final expansion's, or v2's last stage's (it has none)."""
    expansion = state_dict.get("backbone.conv_1x1_exp.conv.weight")
    if expansion is not None:
        return int(expansion.shape[0])
    projections = {
        int(match[1]): value
        for key, value in state_dict.items()
        if (match := re.fullmatch(r"backbone\.layers\.(\d+)\.1\.conv_proj\.conv\.weight", key))
    }
    return int(projections[max(projections)].shape[0])


def _is_v2_layout(layout: str) -> bool:
    return layout.endswith("_v2") or "_v2_" in layout


def _num_classes(state_dict: Mapping[str, torch.Tensor]) -> int | None:
    head = state_dict.get("head.fc.weight", state_dict.get("head.classifier.weight"))
    return None if head is None else int(head.shape[0])


def _describe(stage: MobileNetV2Stage | MobileViTStage) -> str:
    if isinstance(stage, MobileNetV2Stage):
        return f"MobileNetV2 x{stage.num_blocks} s{stage.stride} e{stage.expand_ratio}"
    return f"MobileViT L{stage.depth} s{stage.stride} d{stage.transformer_dim} f{stage.ffn_dim} e{stage.expand_ratio}"


def _kind(state_dict: Mapping[str, torch.Tensor], family: bool = False) -> str:
    """What the weights are, in words, from the head's keys; with ``family``, a v2 model says so."""
    if any(key.startswith("head.aspp.") for key in state_dict):
        kind = "a DeepLabv3 segmenter"
    elif any(key.startswith("head.pyramid.") for key in state_dict):
        kind = "a PSPNet segmenter"
    elif any(key.startswith(("head.levels.", "backbone.extra_layers.")) for key in state_dict):
        kind = "an SSDLite detector"
    else:
        kind = "a classifier"
    if family and is_v2_state_dict(state_dict):
        return f"a MobileViT v2 {kind.split(' ', 1)[1]}"
    return kind


def _unmatched_hint(state_dict: Mapping[str, torch.Tensor], rows: Rows | None) -> str:
    if rows is None:
        return ""
    unmatched = [key for key in state_dict if not _matches(key, rows)]
    return f" (keys it has no name for: {_sample(unmatched, 3)})" if unmatched else ""


def _huggingface_block(key: str, names: list[str], state_dict: Mapping[str, torch.Tensor]) -> str:
    """Hugging Face names the opening block of a stage with a transformer ``downsampling_layer``."""
    stage = re.match(r"backbone\.layers\.(\d+)\.", key)
    transformer = stage is not None and any(
        other.startswith(f"backbone.layers.{stage[1]}.1.local_rep.") for other in state_dict
    )
    chosen = [name for name in names if (".downsampling_layer." in name) == transformer]
    if len(chosen) != 1:
        raise CheckpointError(f"{key} has several Hugging Face names: {', '.join(names)}")
    return chosen[0]


def _matches(key: str, rows: Rows) -> bool:
    return any(_compile(ours).match(key) for _, ours in rows)


@functools.cache
def _compile(template: str) -> re.Pattern[str]:
    """Our side of a row as a pattern: its placeholders become named numbers."""
    pattern = re.escape(template)
    for name in ("stage", "block", "layer", "level", "depth"):
        pattern = pattern.replace(re.escape(f"{{{name}}}"), f"(?P<{name}>\\d+)")
    return re.compile(f"^{pattern}(?P<param>[A-Za-z_]+)$")


def _format(template: str, match: re.Match[str]) -> str:
    fields = {name: int(value) for name, value in match.groupdict().items() if name != "param"}
    if "stage" in fields:
        fields["stage1"] = fields["stage"] + 1  # ml-cvnets counts stages from one
    return template.format(**fields) + match["param"]


def _sample(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return f"[{shown}{', ...' if len(items) > limit else ''}]"
