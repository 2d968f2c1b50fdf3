"""Checkpoint layouts of the published MobileViT weights, mapped onto ours.

Our parameter names are those of the official mmpretrain checkpoints (``backbone.stem...``,
``backbone.layers...``, ``head.fc...``). Each other layout has an explicit rename table of rows
``(their module prefix, our module prefix)``; a row matches a key whose remainder is one
parameter name (``weight``, ``running_mean`` ...). Placeholders: ``{stage}`` (0-4), ``{stage1}``
(1-5, ml-cvnets counts stages from one), ``{block}``, ``{layer}`` (a transformer layer), ``{level}``
(a detection head's feature level) and, on our
side only, ``{depth}``: our final LayerNorm of a stage sits at index ``depth`` of ``global_rep``.

Conversion is a pure function ``state_dict -> state_dict`` that fails, listing the keys, when a
key matches no row, two keys land on one name, or tensors do not fit together. Whether the result
fits a model (every key present, every shape right) is checked where it is loaded.

Channel order: our models, the official mmpretrain and ml-cvnets weights and Hugging Face's (its
image processor flips RGB to BGR) all take BGR input. timm feeds RGB (its pretrained config says
so and nothing flips), so converting a timm checkpoint reverses the input channels of the stem
convolution: predictions stay the same with our BGR preprocessing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping

import torch

from .errors import UsageError

Rows = tuple[tuple[str, str], ...]
StateDict = dict[str, torch.Tensor]

LAYOUTS = (
    "mobilevit",
    "mmpretrain",
    "cvnets",
    "timm",
    "huggingface",
    "cvnets_deeplabv3",
    "huggingface_deeplabv3",
    "cvnets_ssd",
    "cvnets_v2",
    "timm_v2",
    "huggingface_v2",
    "huggingface_v2_deeplabv3",
    "cvnets_v2_ssd",
    "cvnets_v2_deeplabv3",
    "cvnets_v2_pspnet",
)


class CheckpointError(UsageError):
    """A checkpoint whose content does not fit: unknown layout, unmatched keys, wrong shapes."""


def _conv_norm(theirs: str, ours: str, conv: str, norm: str) -> Rows:
    """Rows of a convolution + BatchNorm unit, whose two parts each layout names its own way."""
    return ((f"{theirs}{conv}.", f"{ours}conv."), (f"{theirs}{norm}.", f"{ours}bn."))


def _timm_unit(theirs: str, ours: str) -> Rows:
    return _conv_norm(theirs, ours, "conv", "bn")


def _cvnets_unit(theirs: str, ours: str) -> Rows:
    return _conv_norm(theirs, ours, "block.conv", "block.norm")


def _huggingface_unit(theirs: str, ours: str) -> Rows:
    return _conv_norm(theirs, ours, "convolution", "normalization")


_STAGE = "backbone.layers.{stage}"
_BLOCK = "backbone.layers.{stage}.{block}"
_VIT = "backbone.layers.{stage}.1"  # the MobileViT block of a stage follows its downsampling block
_LAYER = "backbone.layers.{stage}.1.global_rep.{layer}"

TIMM_ROWS: Rows = (
    *_timm_unit("stem.", "backbone.stem."),
    *_timm_unit("stages.{stage}.{block}.conv1_1x1.", f"{_BLOCK}.conv.0."),
    *_timm_unit("stages.{stage}.{block}.conv2_kxk.", f"{_BLOCK}.conv.1."),
    *_timm_unit("stages.{stage}.{block}.conv3_1x1.", f"{_BLOCK}.conv.2."),
    *_timm_unit("stages.{stage}.1.conv_kxk.", f"{_VIT}.local_rep.0."),
    ("stages.{stage}.1.conv_1x1.", f"{_VIT}.local_rep.1.conv."),
    ("stages.{stage}.1.transformer.{layer}.norm1.", f"{_LAYER}.ln1."),
    ("stages.{stage}.1.transformer.{layer}.attn.qkv.", f"{_LAYER}.attn.qkv."),
    ("stages.{stage}.1.transformer.{layer}.attn.proj.", f"{_LAYER}.attn.proj."),
    ("stages.{stage}.1.transformer.{layer}.norm2.", f"{_LAYER}.ln2."),
    ("stages.{stage}.1.transformer.{layer}.mlp.fc1.", f"{_LAYER}.ffn.layers.0.0."),
    ("stages.{stage}.1.transformer.{layer}.mlp.fc2.", f"{_LAYER}.ffn.layers.1."),
    ("stages.{stage}.1.norm.", f"{_VIT}.global_rep.{{depth}}."),
    *_timm_unit("stages.{stage}.1.conv_proj.", f"{_VIT}.conv_proj."),
    *_timm_unit("stages.{stage}.1.conv_fusion.", f"{_VIT}.conv_fusion."),
    *_timm_unit("final_conv.", "backbone.conv_1x1_exp."),
    ("head.fc.", "head.fc."),
)

CVNETS_ROWS: Rows = (
    *_cvnets_unit("conv_1.", "backbone.stem."),
    *_cvnets_unit("layer_{stage1}.{block}.block.exp_1x1.", f"{_BLOCK}.conv.0."),
    *_cvnets_unit("layer_{stage1}.{block}.block.conv_3x3.", f"{_BLOCK}.conv.1."),
    *_cvnets_unit("layer_{stage1}.{block}.block.red_1x1.", f"{_BLOCK}.conv.2."),
    *_cvnets_unit("layer_{stage1}.1.local_rep.conv_3x3.", f"{_VIT}.local_rep.0."),
    ("layer_{stage1}.1.local_rep.conv_1x1.block.conv.", f"{_VIT}.local_rep.1.conv."),
    ("layer_{stage1}.1.global_rep.{layer}.pre_norm_mha.0.", f"{_LAYER}.ln1."),
    ("layer_{stage1}.1.global_rep.{layer}.pre_norm_mha.1.qkv_proj.", f"{_LAYER}.attn.qkv."),
    ("layer_{stage1}.1.global_rep.{layer}.pre_norm_mha.1.out_proj.", f"{_LAYER}.attn.proj."),
    ("layer_{stage1}.1.global_rep.{layer}.pre_norm_ffn.0.", f"{_LAYER}.ln2."),
    ("layer_{stage1}.1.global_rep.{layer}.pre_norm_ffn.1.", f"{_LAYER}.ffn.layers.0.0."),
    ("layer_{stage1}.1.global_rep.{layer}.pre_norm_ffn.4.", f"{_LAYER}.ffn.layers.1."),
    ("layer_{stage1}.1.global_rep.{layer}.", f"{_LAYER}."),  # the final LayerNorm, at index depth as ours
    *_cvnets_unit("layer_{stage1}.1.conv_proj.", f"{_VIT}.conv_proj."),
    *_cvnets_unit("layer_{stage1}.1.fusion.", f"{_VIT}.conv_fusion."),
    *_cvnets_unit("conv_1x1_exp.", "backbone.conv_1x1_exp."),
    ("classifier.fc.", "head.fc."),
)

_HF_STAGE = "mobilevit.encoder.layer.{stage}"
_HF_LAYER = "mobilevit.encoder.layer.{stage}.transformer.layer.{layer}"

HUGGINGFACE_ROWS: Rows = (
    *_huggingface_unit("mobilevit.conv_stem.", "backbone.stem."),
    *_huggingface_unit(f"{_HF_STAGE}.layer.{{block}}.expand_1x1.", f"{_BLOCK}.conv.0."),
    *_huggingface_unit(f"{_HF_STAGE}.layer.{{block}}.conv_3x3.", f"{_BLOCK}.conv.1."),
    *_huggingface_unit(f"{_HF_STAGE}.layer.{{block}}.reduce_1x1.", f"{_BLOCK}.conv.2."),
    *_huggingface_unit(f"{_HF_STAGE}.downsampling_layer.expand_1x1.", f"{_STAGE}.0.conv.0."),
    *_huggingface_unit(f"{_HF_STAGE}.downsampling_layer.conv_3x3.", f"{_STAGE}.0.conv.1."),
    *_huggingface_unit(f"{_HF_STAGE}.downsampling_layer.reduce_1x1.", f"{_STAGE}.0.conv.2."),
    *_huggingface_unit(f"{_HF_STAGE}.conv_kxk.", f"{_VIT}.local_rep.0."),
    (f"{_HF_STAGE}.conv_1x1.convolution.", f"{_VIT}.local_rep.1.conv."),
    (f"{_HF_LAYER}.layernorm_before.", f"{_LAYER}.ln1."),
    (f"{_HF_LAYER}.attention.attention.qkv.", f"{_LAYER}.attn.qkv."),  # fused from query, key, value first
    (f"{_HF_LAYER}.attention.output.dense.", f"{_LAYER}.attn.proj."),
    (f"{_HF_LAYER}.layernorm_after.", f"{_LAYER}.ln2."),
    (f"{_HF_LAYER}.intermediate.dense.", f"{_LAYER}.ffn.layers.0.0."),
    (f"{_HF_LAYER}.output.dense.", f"{_LAYER}.ffn.layers.1."),
    (f"{_HF_STAGE}.layernorm.", f"{_VIT}.global_rep.{{depth}}."),
    *_huggingface_unit(f"{_HF_STAGE}.conv_projection.", f"{_VIT}.conv_proj."),
    *_huggingface_unit(f"{_HF_STAGE}.fusion.", f"{_VIT}.conv_fusion."),
    *_huggingface_unit("mobilevit.conv_1x1_exp.", "backbone.conv_1x1_exp."),
    ("classifier.", "head.fc."),
)


def _deeplabv3_rows(convs: str, pool: str, project: str, classifier: str, conv: str, norm: str) -> Rows:
    """Rows of a DeepLabv3 head onto ours: torchvision's ASPP under ``head.aspp`` (each branch an
    ``nn.Sequential`` of convolution, BatchNorm, ReLU; the pooling branch's starts with its pool)
    and ``head.classifier``. ``convs`` holds the four convolution branches, ``pool`` the pooling
    branch's convolution; ``conv`` and ``norm`` name a unit's two parts in their layout."""
    rows: list[tuple[str, str]] = []
    for branch in range(4):
        rows += [
            (f"{convs}{branch}.{conv}.", f"head.aspp.convs.{branch}.0."),
            (f"{convs}{branch}.{norm}.", f"head.aspp.convs.{branch}.1."),
        ]
    rows += [
        (f"{pool}{conv}.", "head.aspp.convs.4.1."),
        (f"{pool}{norm}.", "head.aspp.convs.4.2."),
        (f"{project}{conv}.", "head.aspp.project.0."),
        (f"{project}{norm}.", "head.aspp.project.1."),
        (f"{classifier}{conv}.", "head.classifier."),
    ]
    return tuple(rows)


# Segmentation checkpoints: the classification backbone's keys without conv_1x1_exp (the head reads
# the last stage before it), beside a DeepLabv3 head. ml-cvnets v0.1 nests the backbone under
# ``encoder.``; Hugging Face's MobileViTForSemanticSegmentation keeps its classification names.
# The MobileViT stages every task's model shares under ``backbone.``: what seeds another task's model.
BACKBONE_PREFIXES = ("backbone.stem.", "backbone.layers.")
# Modules only training uses (a segmenter's auxiliary head): a model for inference has none, and
# loading leaves a checkpoint's out.
TRAINING_ONLY_PREFIXES = ("aux_head.",)
CVNETS_DEEPLABV3_ROWS: Rows = (
    *((f"encoder.{theirs}", ours) for theirs, ours in CVNETS_ROWS if ours.startswith(BACKBONE_PREFIXES)),
    *_deeplabv3_rows(
        "seg_head.aspp.aspp_layer.convs.",
        "seg_head.aspp.aspp_layer.convs.4.aspp_pool.conv_1x1.",
        "seg_head.aspp.aspp_layer.project.",
        "seg_head.classifier.classifier.",
        "block.conv",
        "block.norm",
    ),
)

HUGGINGFACE_DEEPLABV3_ROWS: Rows = (
    *(row for row in HUGGINGFACE_ROWS if row[1].startswith(BACKBONE_PREFIXES)),
    *_deeplabv3_rows(
        "segmentation_head.aspp.convs.",
        "segmentation_head.aspp.convs.4.conv_1x1.",
        "segmentation_head.aspp.project.",
        "segmentation_head.classifier.",
        "convolution",
        "normalization",
    ),
)

# ml-cvnets' detection checkpoints (``ssd_mobilevit_*_320.pt``) nest the classification backbone,
# without conv_1x1_exp and classifier, under ``encoder.``; the SSD layers are ``extra_layers.os_*``
# and ``ssd_heads.{level}`` (six levels, the last a plain 1x1 predictor on the pooled map).
CVNETS_SSD_ROWS: Rows = (
    *((f"encoder.{theirs}", ours) for theirs, ours in CVNETS_ROWS if ours.startswith(BACKBONE_PREFIXES)),
    *_cvnets_unit("extra_layers.os_64.dw_conv.", "backbone.extra_layers.0.depthwise."),
    *_cvnets_unit("extra_layers.os_64.pw_conv.", "backbone.extra_layers.0.pointwise."),
    *_cvnets_unit("extra_layers.os_128.dw_conv.", "backbone.extra_layers.1.depthwise."),
    *_cvnets_unit("extra_layers.os_128.pw_conv.", "backbone.extra_layers.1.pointwise."),
    *_cvnets_unit("extra_layers.os_256.dw_conv.", "backbone.extra_layers.2.depthwise."),
    *_cvnets_unit("extra_layers.os_256.pw_conv.", "backbone.extra_layers.2.pointwise."),
    ("extra_layers.os_-1.1.block.conv.", "backbone.extra_layers.3.1.conv."),  # index 0 is the pool
    *_cvnets_unit("ssd_heads.{level}.proj_layer.", "head.levels.{level}.projection."),
    *_cvnets_unit("ssd_heads.{level}.loc_cls_layer.dw_conv.", "head.levels.{level}.predictor.depthwise."),
    ("ssd_heads.{level}.loc_cls_layer.pw_conv.block.conv.", "head.levels.{level}.predictor.pointwise.conv."),
    ("ssd_heads.{level}.loc_cls_layer.block.conv.", "head.levels.{level}.predictor.conv."),
)

# MobileViT v2 (``v2_050`` ... ``v2_200``): inverted residuals named as v1's, then per stage a v2
# block of ``local_rep``, attention units ``global_rep.{layer}`` (``norm1``, ``attn.qkv_proj``,
# ``attn.out_proj``, ``norm2``, ``ffn.fc1``, ``ffn.fc2``), a final GroupNorm at index ``depth``
# and ``conv_proj``. No layout transposes anything (the 1x1 projections are 4-D convolution
# weights everywhere) and none flips the stem: the v2 weights were trained on RGB, as ours take.
TIMM_V2_ROWS: Rows = (
    *_timm_unit("stem.", "backbone.stem."),
    *_timm_unit("stages.{stage}.{block}.conv1_1x1.", f"{_BLOCK}.conv.0."),
    *_timm_unit("stages.{stage}.{block}.conv2_kxk.", f"{_BLOCK}.conv.1."),
    *_timm_unit("stages.{stage}.{block}.conv3_1x1.", f"{_BLOCK}.conv.2."),
    *_timm_unit("stages.{stage}.1.conv_kxk.", f"{_VIT}.local_rep.0."),
    ("stages.{stage}.1.conv_1x1.", f"{_VIT}.local_rep.1.conv."),
    ("stages.{stage}.1.transformer.{layer}.norm1.", f"{_LAYER}.norm1."),
    ("stages.{stage}.1.transformer.{layer}.attn.qkv_proj.", f"{_LAYER}.attn.qkv_proj."),
    ("stages.{stage}.1.transformer.{layer}.attn.out_proj.", f"{_LAYER}.attn.out_proj."),
    ("stages.{stage}.1.transformer.{layer}.norm2.", f"{_LAYER}.norm2."),
    ("stages.{stage}.1.transformer.{layer}.mlp.fc1.", f"{_LAYER}.ffn.fc1."),
    ("stages.{stage}.1.transformer.{layer}.mlp.fc2.", f"{_LAYER}.ffn.fc2."),
    ("stages.{stage}.1.norm.", f"{_VIT}.global_rep.{{depth}}."),
    *_timm_unit("stages.{stage}.1.conv_proj.", f"{_VIT}.conv_proj."),
    ("head.fc.", "head.fc."),
)

_CVNETS_V2_LAYER = "layer_{stage1}.1.global_rep.{layer}"
CVNETS_V2_ROWS: Rows = (
    *_cvnets_unit("conv_1.", "backbone.stem."),
    *_cvnets_unit("layer_{stage1}.{block}.block.exp_1x1.", f"{_BLOCK}.conv.0."),
    *_cvnets_unit("layer_{stage1}.{block}.block.conv_3x3.", f"{_BLOCK}.conv.1."),
    *_cvnets_unit("layer_{stage1}.{block}.block.red_1x1.", f"{_BLOCK}.conv.2."),
    *_cvnets_unit("layer_{stage1}.1.local_rep.0.", f"{_VIT}.local_rep.0."),
    ("layer_{stage1}.1.local_rep.1.block.conv.", f"{_VIT}.local_rep.1.conv."),
    (f"{_CVNETS_V2_LAYER}.pre_norm_attn.0.", f"{_LAYER}.norm1."),
    (f"{_CVNETS_V2_LAYER}.pre_norm_attn.1.qkv_proj.block.conv.", f"{_LAYER}.attn.qkv_proj."),
    (f"{_CVNETS_V2_LAYER}.pre_norm_attn.1.out_proj.block.conv.", f"{_LAYER}.attn.out_proj."),
    (f"{_CVNETS_V2_LAYER}.pre_norm_ffn.0.", f"{_LAYER}.norm2."),
    (f"{_CVNETS_V2_LAYER}.pre_norm_ffn.1.block.conv.", f"{_LAYER}.ffn.fc1."),
    (f"{_CVNETS_V2_LAYER}.pre_norm_ffn.3.block.conv.", f"{_LAYER}.ffn.fc2."),
    (f"{_CVNETS_V2_LAYER}.", f"{_LAYER}."),  # the final GroupNorm, at index depth as ours
    *_cvnets_unit("layer_{stage1}.1.conv_proj.", f"{_VIT}.conv_proj."),
    ("classifier.1.", "head.fc."),  # index 0 is the parameter-free pool
)

_HF_V2_STAGE = "mobilevitv2.encoder.layer.{stage}"
_HF_V2_LAYER = "mobilevitv2.encoder.layer.{stage}.transformer.layer.{layer}"
HUGGINGFACE_V2_ROWS: Rows = (
    *_huggingface_unit("mobilevitv2.conv_stem.", "backbone.stem."),
    *_huggingface_unit(f"{_HF_V2_STAGE}.layer.{{block}}.expand_1x1.", f"{_BLOCK}.conv.0."),
    *_huggingface_unit(f"{_HF_V2_STAGE}.layer.{{block}}.conv_3x3.", f"{_BLOCK}.conv.1."),
    *_huggingface_unit(f"{_HF_V2_STAGE}.layer.{{block}}.reduce_1x1.", f"{_BLOCK}.conv.2."),
    *_huggingface_unit(f"{_HF_V2_STAGE}.downsampling_layer.expand_1x1.", f"{_STAGE}.0.conv.0."),
    *_huggingface_unit(f"{_HF_V2_STAGE}.downsampling_layer.conv_3x3.", f"{_STAGE}.0.conv.1."),
    *_huggingface_unit(f"{_HF_V2_STAGE}.downsampling_layer.reduce_1x1.", f"{_STAGE}.0.conv.2."),
    *_huggingface_unit(f"{_HF_V2_STAGE}.conv_kxk.", f"{_VIT}.local_rep.0."),
    (f"{_HF_V2_STAGE}.conv_1x1.convolution.", f"{_VIT}.local_rep.1.conv."),
    (f"{_HF_V2_LAYER}.layernorm_before.", f"{_LAYER}.norm1."),
    (f"{_HF_V2_LAYER}.attention.qkv_proj.convolution.", f"{_LAYER}.attn.qkv_proj."),
    (f"{_HF_V2_LAYER}.attention.out_proj.convolution.", f"{_LAYER}.attn.out_proj."),
    (f"{_HF_V2_LAYER}.layernorm_after.", f"{_LAYER}.norm2."),
    (f"{_HF_V2_LAYER}.ffn.conv1.convolution.", f"{_LAYER}.ffn.fc1."),
    (f"{_HF_V2_LAYER}.ffn.conv2.convolution.", f"{_LAYER}.ffn.fc2."),
    (f"{_HF_V2_STAGE}.layernorm.", f"{_VIT}.global_rep.{{depth}}."),
    *_huggingface_unit(f"{_HF_V2_STAGE}.conv_projection.", f"{_VIT}.conv_proj."),
    ("classifier.", "head.fc."),
)
# Hugging Face's MobileViTV2ForSemanticSegmentation: the classification backbone's names beside the
# DeepLabv3 head of its v1 port (no auxiliary head).
HUGGINGFACE_V2_DEEPLABV3_ROWS: Rows = (
    *(row for row in HUGGINGFACE_V2_ROWS if row[1].startswith(BACKBONE_PREFIXES)),
    *_deeplabv3_rows(
        "segmentation_head.aspp.convs.",
        "segmentation_head.aspp.convs.4.conv_1x1.",
        "segmentation_head.aspp.project.",
        "segmentation_head.classifier.",
        "convolution",
        "normalization",
    ),
)
# ml-cvnets' v2 SSDLite (``coco-ssd-mobilevitv2-*.pt``): the v2 backbone under ``encoder.`` beside
# the SSD layers of v1's layout.
CVNETS_V2_SSD_ROWS: Rows = (
    *((f"encoder.{theirs}", ours) for theirs, ours in CVNETS_V2_ROWS if ours.startswith(BACKBONE_PREFIXES)),
    *(row for row in CVNETS_SSD_ROWS if not row[1].startswith(BACKBONE_PREFIXES)),
)
# ml-cvnets' v2 segmenters (``{deeplabv3,pspnet}-mobilevitv2-*.pt``, ml-cvnets v0.2 and later): the v2
# backbone under ``encoder.``, the head under ``seg_head.`` with its classifier a ConvLayer
# (``seg_head.classifier.block.conv``; v0.1's DeepLabv3 nested it once more), and the auxiliary
# head the published recipes trained with (``seg_head.aux_head.{0,2}``), our training-only ``aux_head``.
_CVNETS_V2_ENCODER: Rows = tuple(
    (f"encoder.{theirs}", ours) for theirs, ours in CVNETS_V2_ROWS if ours.startswith(BACKBONE_PREFIXES)
)
_CVNETS_AUXILIARY_HEAD: Rows = (
    *_cvnets_unit("seg_head.aux_head.0.", "aux_head.0."),
    ("seg_head.aux_head.2.block.conv.", "aux_head.2."),
)
CVNETS_V2_DEEPLABV3_ROWS: Rows = (
    *_CVNETS_V2_ENCODER,
    *_deeplabv3_rows(
        "seg_head.aspp.aspp_layer.convs.",
        "seg_head.aspp.aspp_layer.convs.4.aspp_pool.conv_1x1.",
        "seg_head.aspp.aspp_layer.project.",
        "seg_head.classifier.",
        "block.conv",
        "block.norm",
    ),
    *_CVNETS_AUXILIARY_HEAD,
)
# PSPNet's pyramid level {level} is a pool (index 0) and a ConvLayer (index 1); the fusion a ConvLayer
# and Dropout2d.
CVNETS_V2_PSPNET_ROWS: Rows = (
    *_CVNETS_V2_ENCODER,
    *_cvnets_unit("seg_head.psp_layer.psp_branches.{level}.1.", "head.pyramid.{level}.1."),
    *_cvnets_unit("seg_head.psp_layer.fusion.0.", "head.fusion."),
    ("seg_head.classifier.block.conv.", "head.classifier."),
    *_CVNETS_AUXILIARY_HEAD,
)
_HUGGINGFACE_V2_LAYER = re.compile(
    r"^mobilevitv2\.encoder\.layer\.(?P<stage>\d+)\.transformer\.layer\.(?P<layer>\d+)\."
)
_CVNETS_V2_DENSE = re.compile(r"^encoder\.layer_\d+\.1\.global_rep\.0\.pre_norm_attn\.1\.qkv_proj\.")
# Each ml-cvnets v2 dense layout by the prefix of its head's keys.
_CVNETS_V2_HEADS = {
    "ssd_heads.": "cvnets_v2_ssd",
    "seg_head.aspp.": "cvnets_v2_deeplabv3",
    "seg_head.psp_layer.": "cvnets_v2_pspnet",
}
# The key of each layout's first attention projection: where v2 differs from v1 by name.
_V2_MARKERS = {
    "cvnets_v2": re.compile(r"^layer_\d+\.1\.global_rep\.0\.pre_norm_attn\.1\.qkv_proj\."),
    "timm_v2": re.compile(r"^stages\.\d+\.1\.transformer\.0\.attn\.qkv_proj\."),
    "huggingface_v2": re.compile(r"^mobilevitv2\.conv_stem\."),
}


# Hugging Face keeps three attention input projections; ours is one, its rows ordered q, k, v.
_QKV = ("query", "key", "value")
_HUGGINGFACE_PROJECTION = re.compile(
    r"(?P<module>.*\.attention\.attention)\.(?P<part>query|key|value)\.(?P<param>weight|bias)"
)

# Where each layout's transformer layers are numbered, to find a stage's depth.
_TIMM_LAYER = re.compile(r"^stages\.(?P<stage>\d+)\.1\.transformer\.(?P<layer>\d+)\.")
_HUGGINGFACE_LAYER = re.compile(r"^mobilevit\.encoder\.layer\.(?P<stage>\d+)\.transformer\.layer\.(?P<layer>\d+)\.")


def detect_layout(state_dict: Mapping[str, torch.Tensor]) -> str:
    """Name the layout of a bare state dict from its stem's key (``mobilevit`` for ours)."""
    v2_layout = detect_v2_layout(state_dict)
    if v2_layout is not None:
        return v2_layout
    keys = set(state_dict)
    if "encoder.conv_1.block.conv.weight" in keys and any(key.startswith("ssd_heads.") for key in keys):
        return "cvnets_ssd"
    if "encoder.conv_1.block.conv.weight" in keys and any(key.startswith("seg_head.") for key in keys):
        return "cvnets_deeplabv3"
    if "mobilevit.conv_stem.convolution.weight" in keys and any(key.startswith("segmentation_head.") for key in keys):
        return "huggingface_deeplabv3"
    if "backbone.stem.conv.weight" in keys:
        return "mobilevit"
    if "conv_1.block.conv.weight" in keys:
        return "cvnets"
    if "stem.conv.weight" in keys and any(key.startswith("stages.") for key in keys):
        return "timm"
    if "mobilevit.conv_stem.convolution.weight" in keys:
        return "huggingface"
    sample = ", ".join(sorted(keys)[:5])
    raise CheckpointError(
        "not a MobileViT checkpoint of a known layout: expected a stem key backbone.stem.conv.weight "
        "(mobilevit, mmpretrain), conv_1.block.conv.weight (ml-cvnets), stem.conv.weight (timm), "
        "mobilevit.conv_stem.convolution.weight (Hugging Face), or encoder.conv_1.block.conv.weight with "
        f"seg_head.* (ml-cvnets DeepLabv3) or ssd_heads.* (ml-cvnets SSD); found {len(keys)} keys such as {sample}"
    )


def to_mobilevit(state_dict: Mapping[str, torch.Tensor], layout: str) -> StateDict:
    """Map a state dict of ``layout`` (see :data:`LAYOUTS`) onto our parameter names."""
    converters: dict[str, Callable[[Mapping[str, torch.Tensor]], StateDict]] = {
        "mobilevit": from_mobilevit,
        "mmpretrain": from_mobilevit,
        "cvnets": from_cvnets,
        "timm": from_timm,
        "huggingface": from_huggingface,
        "cvnets_deeplabv3": from_cvnets_deeplabv3,
        "huggingface_deeplabv3": from_huggingface_deeplabv3,
        "cvnets_ssd": from_cvnets_ssd,
        "cvnets_v2": from_cvnets_v2,
        "timm_v2": from_timm_v2,
        "huggingface_v2": from_huggingface_v2,
        "huggingface_v2_deeplabv3": from_huggingface_v2_deeplabv3,
        "cvnets_v2_ssd": from_cvnets_v2_ssd,
        "cvnets_v2_deeplabv3": from_cvnets_v2_deeplabv3,
        "cvnets_v2_pspnet": from_cvnets_v2_pspnet,
    }
    if layout not in converters:
        raise CheckpointError(f"unknown checkpoint layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    return converters[layout](state_dict)


def from_mobilevit(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    """Our layout (and mmpretrain's, the same names): checked, not renamed."""
    stray = [key for key in state_dict if not key.startswith(("backbone.", "head.", *TRAINING_ONLY_PREFIXES))]
    if stray:
        raise CheckpointError(f"{len(stray)} keys outside backbone.*, head.* and aux_head.*: {_sample(stray)}")
    return dict(state_dict)


def from_cvnets(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    """Apple ml-cvnets' layout (a bare state dict, BGR input, as ours)."""
    return rename(state_dict, CVNETS_ROWS, depths={})


def from_timm(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    """timm's layout; the stem's input channels are reversed because timm feeds RGB and we feed BGR."""
    converted = rename(state_dict, TIMM_ROWS, depths=_depths(state_dict, _TIMM_LAYER))
    stem = converted["backbone.stem.conv.weight"]
    if stem.ndim != 4 or stem.shape[1] != 3:
        raise CheckpointError(f"stem.conv.weight has shape {tuple(stem.shape)}; expected (out, 3, k, k)")
    converted["backbone.stem.conv.weight"] = stem.flip(1)  # RGB -> BGR input channels
    return converted


def from_huggingface(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    """Hugging Face's ``MobileViTForImageClassification`` (BGR input, as ours); query, key and value
    projections are stacked into one qkv projection, rows in that order."""
    fused = fuse_qkv(state_dict)
    return rename(fused, HUGGINGFACE_ROWS, depths=_depths(fused, _HUGGINGFACE_LAYER))


def from_cvnets_deeplabv3(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    """ml-cvnets v0.1's DeepLabv3 layout (``deeplabv3_mobilevit_*.pt``: ``encoder.`` and ``seg_head.``)."""
    return rename(state_dict, CVNETS_DEEPLABV3_ROWS, depths={})


def from_huggingface_deeplabv3(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    """Hugging Face's ``MobileViTForSemanticSegmentation``; query, key and value fused as for classification."""
    fused = fuse_qkv(state_dict)
    return rename(fused, HUGGINGFACE_DEEPLABV3_ROWS, depths=_depths(fused, _HUGGINGFACE_LAYER))


def from_cvnets_ssd(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    """ml-cvnets v0.1's SSDLite layout (``ssd_mobilevit_*_320.pt``: ``encoder.``, ``extra_layers.``,
    ``ssd_heads.``)."""
    return rename(state_dict, CVNETS_SSD_ROWS, depths={})


def detect_v2_layout(state_dict: Mapping[str, torch.Tensor]) -> str | None:
    """The MobileViT v2 layout of a bare state dict (``cvnets_v2``, ``timm_v2``, ``huggingface_v2``,
    ``huggingface_v2_deeplabv3``, ``cvnets_v2_ssd``, ``cvnets_v2_deeplabv3``, ``cvnets_v2_pspnet``),
    or None for another model."""
    if any(_CVNETS_V2_DENSE.match(key) for key in state_dict):
        for prefix, layout in _CVNETS_V2_HEADS.items():
            if any(key.startswith(prefix) for key in state_dict):
                return layout
        raise CheckpointError(
            "an ml-cvnets MobileViT v2 checkpoint (encoder.*) with none of the heads read: expected "
            f"{', '.join(f'{prefix}* ({layout})' for prefix, layout in _CVNETS_V2_HEADS.items())}"
        )
    for layout, marker in _V2_MARKERS.items():
        if any(marker.match(key) for key in state_dict):
            segmenter = layout == "huggingface_v2" and any(key.startswith("segmentation_head.") for key in state_dict)
            return "huggingface_v2_deeplabv3" if segmenter else layout
    return None


def from_timm_v2(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    """timm's ``mobilevitv2_*`` (RGB input, as our v2 models)."""
    return rename(state_dict, TIMM_V2_ROWS, depths=_depths(state_dict, _TIMM_LAYER))


def from_cvnets_v2(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    """ml-cvnets' MobileViT v2 classification layout (``mobilevitv2-*.pt``, RGB input)."""
    return rename(state_dict, CVNETS_V2_ROWS, depths={})


def from_huggingface_v2(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    """Hugging Face's ``MobileViTV2ForImageClassification``: ml-cvnets' weights renamed, so RGB input,
    although its image processor flips the channels to BGR (see docs/models.md)."""
    return rename(state_dict, HUGGINGFACE_V2_ROWS, depths=_depths(state_dict, _HUGGINGFACE_V2_LAYER))


def from_huggingface_v2_deeplabv3(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    """Hugging Face's ``MobileViTV2ForSemanticSegmentation`` (ASPP of 512 channels on ml-cvnets' weights)."""
    return rename(state_dict, HUGGINGFACE_V2_DEEPLABV3_ROWS, depths=_depths(state_dict, _HUGGINGFACE_V2_LAYER))


def from_cvnets_v2_ssd(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    """ml-cvnets' SSDLite on MobileViT v2 (``encoder.``, ``extra_layers.``, ``ssd_heads.``; RGB input)."""
    return rename(state_dict, CVNETS_V2_SSD_ROWS, depths={})


def from_cvnets_v2_deeplabv3(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    """ml-cvnets' DeepLabv3 on MobileViT v2 (``encoder.``, ``seg_head.``, RGB input); its auxiliary
    head, when the file has one, becomes our training-only ``aux_head``."""
    return rename(state_dict, CVNETS_V2_DEEPLABV3_ROWS, depths={})


def from_cvnets_v2_pspnet(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    """ml-cvnets' PSPNet on MobileViT v2 (``encoder.``, ``seg_head.psp_layer``, RGB input); its
    auxiliary head as for DeepLabv3."""
    return rename(state_dict, CVNETS_V2_PSPNET_ROWS, depths={})


def fuse_qkv(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    """Replace each ``...attention.attention.{query,key,value}.{weight,bias}`` triple by ``...qkv...``."""
    fused: StateDict = {}
    projections: dict[tuple[str, str], dict[str, torch.Tensor]] = {}
    for key, value in state_dict.items():
        match = _HUGGINGFACE_PROJECTION.fullmatch(key)
        if match is None:
            fused[key] = value
        else:
            projections.setdefault((match["module"], match["param"]), {})[match["part"]] = value
    for (module, param), parts in projections.items():
        missing = [part for part in _QKV if part not in parts]
        if missing:
            raise CheckpointError(f"{module} has no {', '.join(missing)} {param} beside its {', '.join(parts)}")
        shapes = [tuple(parts[part].shape) for part in _QKV]
        if len(set(shapes)) != 1:
            raise CheckpointError(f"query, key and value {param}s of {module} differ in shape: {shapes}")
        fused[f"{module}.qkv.{param}"] = torch.cat([parts[part] for part in _QKV], dim=0)
    return fused


def rename(state_dict: Mapping[str, torch.Tensor], rows: Rows, depths: Mapping[int, int]) -> StateDict:
    """Rename every key by the first row that matches it; fail on unmatched or colliding keys.

    ``depths`` maps a stage to its number of transformer layers, for rows that use ``{depth}``.
    """
    patterns = [(_compile(theirs), ours) for theirs, ours in rows]
    renamed: StateDict = {}
    unmatched, collisions = [], []
    for key, value in state_dict.items():
        for pattern, ours in patterns:
            match = pattern.match(key)
            if match is not None:
                new_key = _format(ours, match, depths, key)
                if new_key in renamed:
                    collisions.append(f"{key} -> {new_key}")
                renamed[new_key] = value
                break
        else:
            unmatched.append(key)
    if unmatched or collisions:
        raise CheckpointError(
            f"cannot map the checkpoint onto MobileViT: {len(unmatched)} keys match no rename rule "
            f"{_sample(unmatched)}; {len(collisions)} keys collide {_sample(collisions)}"
        )
    if len(renamed) != len(state_dict):
        raise CheckpointError(f"renaming {len(state_dict)} keys gave {len(renamed)}")
    return renamed


@functools.cache
def _compile(template: str) -> re.Pattern[str]:
    pattern = re.escape(template)
    for name in ("stage1", "stage", "block", "layer", "level"):
        pattern = pattern.replace(re.escape(f"{{{name}}}"), f"(?P<{name}>\\d+)")
    return re.compile(f"^{pattern}(?P<param>[A-Za-z_]+)$")


def _format(template: str, match: re.Match[str], depths: Mapping[int, int], key: str) -> str:
    fields = {name: int(value) for name, value in match.groupdict().items() if name != "param"}
    if "stage1" in fields:
        fields["stage"] = fields.pop("stage1") - 1
    if "{depth}" in template:
        if fields["stage"] not in depths:
            raise CheckpointError(f"{key}: stage {fields['stage']} has a final LayerNorm but no transformer layers")
        fields["depth"] = depths[fields["stage"]]
    return template.format(**fields) + match["param"]


def _depths(state_dict: Mapping[str, torch.Tensor], layer_pattern: re.Pattern[str]) -> dict[int, int]:
    """Number of transformer layers of each stage, from the highest layer index found."""
    depths: dict[int, int] = {}
    for key in state_dict:
        match = layer_pattern.match(key)
        if match is not None:
            stage = int(match["stage"])
            depths[stage] = max(depths.get(stage, 0), int(match["layer"]) + 1)
    return depths


_EXPANSION = "backbone.conv_1x1_exp."


def infer_arch(state_dict: Mapping[str, torch.Tensor]) -> str:
    """The named arch (``small``, ``x_small``, ``xx_small``) whose backbone has exactly these
    names and shapes; a state dict in our layout."""
    if is_v2_state_dict(state_dict):
        return infer_v2_arch(state_dict)
    backbone = {
        key: tuple(value.shape)
        for key, value in state_dict.items()
        if key.startswith((*BACKBONE_PREFIXES, _EXPANSION))  # a detector's extra layers are its own
    }
    expanded = any(key.startswith(_EXPANSION) for key in backbone)  # a dense-task backbone has no expansion
    differences = {}
    for arch, shapes in _backbone_shapes().items():
        expected = {key: shape for key, shape in shapes.items() if expanded or not key.startswith(_EXPANSION)}
        if backbone == expected:
            return arch
        differences[arch] = sorted(
            f"{key}: {backbone.get(key, 'missing')} vs {expected.get(key, 'not in the arch')}"
            for key in set(backbone) | set(expected)
            if backbone.get(key) != expected.get(key)
        )
    closest = min(differences, key=lambda arch: len(differences[arch]))
    raise CheckpointError(
        f"the checkpoint's backbone matches none of the archs {', '.join(differences)}; closest is "
        f"{closest!r} with {len(differences[closest])} differences (checkpoint vs arch) "
        f"{_sample(differences[closest])}. Pass the arch explicitly if it is a custom one."
    )


def num_classes_of(state_dict: Mapping[str, torch.Tensor]) -> int | None:
    """Classes of the checkpoint's linear head, segmentation classifier or detection head (the
    background counted), or None for a backbone-only checkpoint."""
    head = state_dict.get("head.fc.weight", state_dict.get("head.classifier.weight"))
    if head is not None:
        return int(head.shape[0])
    predictor = state_dict.get(_FIRST_DETECTION_PREDICTOR)
    if predictor is None:
        return None
    from .models.ssdlite import BOX_CODING, anchor_generator

    return int(predictor.shape[0]) // anchor_generator().num_anchors_per_location()[0] - BOX_CODING


_FIRST_DETECTION_PREDICTOR = "head.levels.0.predictor.pointwise.conv.weight"


@functools.cache
def _backbone_shapes() -> dict[str, dict[str, tuple[int, ...]]]:
    from .models import ARCHS, MobileViT

    shapes = {}
    for arch in ARCHS:
        with torch.device("meta"):  # shapes only: no memory, no initialisation cost
            backbone = MobileViT(arch)
        shapes[arch] = {f"backbone.{key}": tuple(value.shape) for key, value in backbone.state_dict().items()}
    return shapes


_V2_ATTENTION = re.compile(r"^backbone\.layers\.\d+\.1\.global_rep\.\d+\.attn\.qkv_proj\.")


def is_v2_state_dict(state_dict: Mapping[str, torch.Tensor]) -> bool:
    """Whether a state dict in our layout holds a MobileViT v2 backbone (separable attention)."""
    return any(_V2_ATTENTION.match(key) for key in state_dict)


def infer_v2_arch(state_dict: Mapping[str, torch.Tensor]) -> str:
    """The MobileViT v2 arch (``v2_050`` ... ``v2_200``) whose backbone has exactly these names and
    shapes; a state dict in our layout."""
    backbone = {key: tuple(value.shape) for key, value in state_dict.items() if key.startswith(BACKBONE_PREFIXES)}
    for arch, shapes in _v2_backbone_shapes().items():
        if backbone == shapes:
            return arch
    stem = backbone.get("backbone.stem.conv.weight")
    raise CheckpointError(
        f"the checkpoint's MobileViT v2 backbone ({len(backbone)} tensors, stem {stem}) matches none of the "
        f"widths {', '.join(_v2_backbone_shapes())}"
    )


@functools.cache
def _v2_backbone_shapes() -> dict[str, dict[str, tuple[int, ...]]]:
    from .models import V2_ARCHS, MobileViTV2

    shapes = {}
    for arch in V2_ARCHS:
        with torch.device("meta"):
            backbone = MobileViTV2(arch)
        shapes[arch] = {f"backbone.{key}": tuple(value.shape) for key, value in backbone.state_dict().items()}
    return shapes


def _sample(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return f"[{shown}{', ...' if len(items) > limit else ''}]"
