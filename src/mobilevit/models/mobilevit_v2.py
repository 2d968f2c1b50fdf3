"""The MobileViT v2 backbone (Mehta & Rastegari, arXiv 2206.02680): separable self-attention.

The seven published widths (0.5 to 2.0) are derived by ml-cvnets' rules, which give timm's numbers
for them. A v2 backbone is a :class:`~mobilevit.models.mobilevit.MobileViT` whose MobileViT stages
build :class:`MobileViTV2Block` and which has no final expansion, so the classifier and the dense
heads take it as they take v1. Module names follow v1's (``stem``, ``layers.i``, ``local_rep``,
``global_rep``, ``conv_proj``); inside an attention unit they are ``norm1``, ``attn.qkv_proj``,
``attn.out_proj``, ``norm2``, ``ffn.fc1``, ``ffn.fc2``, and the final GroupNorm of a block sits at
index ``depth`` of ``global_rep`` as in ml-cvnets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UsageError
from .mobilevit import (
    ActLayer,
    BatchNorm2d,
    ConvNormAct,
    InvertedResidual,
    MobileNetV2Stage,
    MobileViT,
    MobileViTStage,
    NormLayer,
    Swish,
    has_hooks,
)
from .tracing import register_leaf_module


@dataclass(frozen=True)
class MobileViTV2Stage(MobileViTStage):
    """A strided inverted residual block followed by one MobileViT v2 block.

    The fields are v1's: ``transformer_dim`` is the attention dim (half the stage's channels) and
    ``depth`` the number of attention units.
    """


@dataclass(frozen=True)
class MobileViTV2Arch:
    """A MobileViT v2 width: its stem's channels and its five stages."""

    width_multiplier: float
    stem_channels: int
    stages: tuple[MobileViTStage, ...]


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """``value`` rounded to the nearest multiple of ``divisor`` (at least ``min_value``), one more
    ``divisor`` where rounding lost more than 10 % (ml-cvnets' and TF-slim's rule)."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def v2_arch(width_multiplier: float) -> MobileViTV2Arch:
    """The MobileViT v2 of ``width_multiplier`` by ml-cvnets' rules (config/mobilevit_v2.py).

    Stage channels 64/128/256/384/512 and attention dims 128/192/256 are scaled by the width; the
    FFN of an attention unit is twice its dim, floored to a multiple of 16; every inverted residual
    expands by 2; the three MobileViT stages hold 2, 4 and 3 attention units.
    """
    width = width_multiplier
    stem = make_divisible(max(16, min(64, 32 * width)), 8, min_value=16)

    def vit(channels: float, dim: float, depth: int) -> MobileViTV2Stage:
        attention_dim = make_divisible(dim * width, 8)
        return MobileViTV2Stage(
            out_channels=make_divisible(channels * width, 8),
            stride=2,
            transformer_dim=attention_dim,
            ffn_dim=int(2 * attention_dim // 16 * 16),
            depth=depth,
            expand_ratio=2,
        )

    stages = (
        MobileNetV2Stage(out_channels=make_divisible(64 * width, 16), stride=1, num_blocks=1, expand_ratio=2),
        MobileNetV2Stage(out_channels=make_divisible(128 * width, 8), stride=2, num_blocks=2, expand_ratio=2),
        vit(256, 128, 2),
        vit(384, 192, 4),
        vit(512, 256, 3),
    )
    return MobileViTV2Arch(width, stem, stages)


# The published widths, named as timm names them (mobilevitv2_050 ... mobilevitv2_200).
V2_ARCHS: dict[str, MobileViTV2Arch] = {
    f"v2_{round(width * 100):03d}": v2_arch(width) for width in (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)
}


def resolve_v2_arch(arch: str) -> MobileViTV2Arch:
    """The MobileViT v2 of an arch name (``v2_050`` ... ``v2_200``)."""
    key = arch.lower() if isinstance(arch, str) else arch
    if key not in V2_ARCHS:
        raise UsageError(f"unknown MobileViT v2 arch {arch!r}; valid archs: {', '.join(V2_ARCHS)}")
    return V2_ARCHS[key]


class SeparableSelfAttention(nn.Module):
    """Separable self-attention over (B, d, P, N) patches, linear in N (keys ``qkv_proj``, ``out_proj``).

    One 1x1 projection gives a one-channel query, keys and values (rows in that order). The
    query's softmax over the N patches weighs the keys into one context vector per pixel position
    P, which scales the ReLU of the values. No heads, no scaling, no matmul.
    """

    def __init__(self, dim: int, attn_drop: float = 0.0) -> None:
        super().__init__()
        self.dim = dim
        self.qkv_proj = nn.Conv2d(dim, 1 + 2 * dim, 1)
        self.attn_drop = nn.Dropout(attn_drop)
        self.out_proj = nn.Conv2d(dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, d, P, N) -> (B, 1, P, N), (B, d, P, N), (B, d, P, N)
        query, key, value = torch.split(self.qkv_proj(x), [1, self.dim, self.dim], dim=1)
        scores = self.attn_drop(query.softmax(dim=-1))
        # (B, d, P, N) * (B, 1, P, N) summed over N -> (B, d, P, 1)
        context = (key * scores).sum(dim=-1, keepdim=True)
        return self.out_proj(F.relu(value) * context)


class ConvFeedForward(nn.Module):
    """1x1 conv, Swish, dropout, 1x1 conv, dropout over (B, d, P, N) (keys ``fc1``, ``fc2``)."""

    def __init__(
        self, dim: int, hidden_dim: int, act_layer: ActLayer = Swish, ffn_drop: float = 0.0, drop: float = 0.0
    ):
        super().__init__()
        self.fc1 = nn.Conv2d(dim, hidden_dim, 1)
        self.act = act_layer()
        self.ffn_drop = nn.Dropout(ffn_drop)
        self.fc2 = nn.Conv2d(hidden_dim, dim, 1)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hooked = False if torch.jit.is_scripting() else self._hooked()  # Swish overwrites its input
        x = self.fc1(x)
        return self.drop(self.fc2(self.ffn_drop(self.act(x.clone() if hooked else x))))

    @torch.jit.unused
    def _hooked(self) -> bool:
        return has_hooks(self)


def group_norm1(channels: int) -> nn.GroupNorm:
    """GroupNorm with one group: normalises each sample over all of (d, P, N), per-channel affine."""
    return nn.GroupNorm(1, channels, eps=1e-5)


class LinearTransformerLayer(nn.Module):
    """Pre-norm attention unit: ``x + attn(norm1(x))``, then ``x + ffn(norm2(x))`` (GroupNorm(1) norms)."""

    def __init__(
        self, dim: int, ffn_dim: int, drop: float = 0.0, attn_drop: float = 0.0, act_layer: ActLayer = Swish
    ) -> None:
        super().__init__()
        self.norm1 = group_norm1(dim)
        self.attn = SeparableSelfAttention(dim, attn_drop)
        self.drop = nn.Dropout(drop)
        self.norm2 = group_norm1(dim)
        self.ffn = ConvFeedForward(dim, ffn_dim, act_layer, drop=drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Each branch ends in a fresh tensor, so the shortcut is added to it in place.
        x = self.drop(self.attn(self.norm1(x))).add_(x)
        return self.ffn(self.norm2(x)).add_(x)


@register_leaf_module  # its resize of odd sides is decided at run time
class MobileViTV2Block(nn.Module):
    """Depthwise 3x3 and 1x1 local convs, attention units over unfolded patches, a 1x1 projection.

    Unlike v1 there is no fusion with the block's input and no activation after the projection.
    A side that is not a multiple of the patch is resized up (bilinear, ``align_corners=True``)
    before the block and stays so, as ml-cvnets and timm do: a 7x7 map comes out 8x8.
    ``dilation`` dilates the depthwise conv (a dense-task backbone at output stride 16 or 8).
    """

    def __init__(
        self,
        channels: int,
        attention_dim: int,
        ffn_dim: int,
        depth: int,
        patch_size: int = 2,
        dilation: int = 1,
        drop: float = 0.0,
        attn_drop: float = 0.0,
        norm_layer: NormLayer = BatchNorm2d,
        act_layer: ActLayer = Swish,
    ) -> None:
        super().__init__()
        self.patch_size = patch_size
        # True: resize even where the sides divide the patch (an exact identity there), so that a
        # traced graph, whose branches are fixed, serves every size (as v1's blocks).
        self.always_resize = False
        self.local_rep = nn.Sequential(
            ConvNormAct(
                channels, channels, 3, groups=channels, norm_layer=norm_layer, act_layer=act_layer, dilation=dilation
            ),
            ConvNormAct(channels, attention_dim, 1, norm_layer=None, act_layer=None),  # no bias, no norm
        )
        layers: list[nn.Module] = [
            LinearTransformerLayer(attention_dim, ffn_dim, drop, attn_drop, act_layer) for _ in range(depth)
        ]
        self.global_rep = nn.Sequential(*layers, group_norm1(attention_dim))
        self.conv_proj = ConvNormAct(attention_dim, channels, 1, norm_layer=norm_layer, act_layer=None)

    def unfold(self, x: torch.Tensor) -> torch.Tensor:
        """Split a feature map into patches: P pixel positions (row-major in the patch) of N patches."""
        batch, channels, height, width = x.shape
        p = self.patch_size
        # (B, d, H, W) -> (B, d*P, H/p, W/p) -> (B, d, P, N); P index = row * p + column in the patch
        return F.pixel_unshuffle(x, p).reshape(batch, channels, p * p, (height // p) * (width // p))

    def fold(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """Inverse of :meth:`unfold` for a ``height`` x ``width`` map."""
        batch, channels = x.shape[0], x.shape[1]
        p = self.patch_size
        # (B, d, P, N) -> (B, d*P, H/p, W/p) -> (B, d, H, W)
        return F.pixel_shuffle(x.reshape(batch, channels * p * p, height // p, width // p), p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2], x.shape[-1]
        p = self.patch_size
        padded_h, padded_w = (height + p - 1) // p * p, (width + p - 1) // p * p
        if self.always_resize or padded_h != height or padded_w != width:
            x = F.interpolate(x, size=(padded_h, padded_w), mode="bilinear", align_corners=True)
        x = self.local_rep(x)
        x = self.fold(self.global_rep(self.unfold(x)), padded_h, padded_w)
        return self.conv_proj(x)


class MobileViTV2(MobileViT):
    """MobileViT v2 backbone: stem, five stages, no final expansion.

    Args:
        arch: ``'v2_050'``, ``'v2_075'``, ``'v2_100'``, ``'v2_125'``, ``'v2_150'``, ``'v2_175'``,
            ``'v2_200'`` (width 0.5 to 2.0) or a :class:`MobileViTV2Arch`.
        output_stride: 32, or 16 / 8 for dense heads as ml-cvnets dilates v2: each stage past that
            stride opens at stride 1 (its depthwise convolution dilated by the dilation in force
            before it) and the MobileViT v2 block's depthwise convolution is dilated by the doubled
            dilation.
        expand_output: accepted for the interface of :class:`MobileViT`; v2 has no expansion.

    The other arguments are :class:`MobileViT`'s.
    """

    def __init__(
        self,
        arch: str | MobileViTV2Arch = "v2_100",
        in_channels: int = 3,
        out_indices: int | Sequence[int] = (-1,),
        output_stride: int = 32,
        expand_output: bool = False,
        frozen_stages: int = -1,
        norm_eval: bool = False,
        drop_rate: float = 0.0,
        channels_last: bool = False,
        norm_layer: NormLayer = BatchNorm2d,
        act_layer: ActLayer = Swish,
    ) -> None:
        if expand_output:
            raise UsageError("MobileViT v2 has no final 1x1 expansion: expand_output must be False")
        resolved = arch if isinstance(arch, MobileViTV2Arch) else resolve_v2_arch(arch)
        super().__init__(
            resolved.stages,
            in_channels=in_channels,
            stem_channels=resolved.stem_channels,
            out_indices=out_indices,
            output_stride=output_stride,
            expand_output=False,
            frozen_stages=frozen_stages,
            norm_eval=norm_eval,
            drop_rate=drop_rate,
            channels_last=channels_last,
            norm_layer=norm_layer,
            act_layer=act_layer,
        )
        self.width_multiplier = resolved.width_multiplier

    @staticmethod
    def _make_stage(
        stage: MobileViTStage,
        in_channels: int,
        stride: int,
        dilation: int,
        drop_rate: float,
        norm_layer: NormLayer,
        act_layer: ActLayer,
    ) -> nn.Sequential:
        """Inverted residuals as v1; a v2 block after a MobileViT stage's strided opening block."""
        if not isinstance(stage, MobileViTV2Stage):
            return MobileViT._make_stage(stage, in_channels, stride, dilation, drop_rate, norm_layer, act_layer)
        # A stage that opens at stride 1 in place of 2 (a dilated stage) dilates its block twice as much.
        block_dilation = dilation * (stage.stride // stride)
        return nn.Sequential(
            InvertedResidual(
                in_channels, stage.out_channels, stride, stage.expand_ratio, norm_layer, act_layer, dilation
            ),
            MobileViTV2Block(
                stage.out_channels,
                stage.transformer_dim,
                stage.ffn_dim,
                stage.depth,
                dilation=block_dilation,
                drop=drop_rate,
                norm_layer=norm_layer,
                act_layer=act_layer,
            ),
        )

    def init_weights(self) -> None:
        """v1's initialisation, and unit GroupNorms."""
        super().init_weights()
        for module in self.modules():
            if isinstance(module, nn.GroupNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
