"""The MobileViT v1 backbone (Mehta & Rastegari, arXiv 2110.02178).

Module names follow the official mmpretrain checkpoints (``stem``, ``layers.i``, ``local_rep``,
``global_rep``, ``conv_proj``, ``conv_fusion``, ``conv_1x1_exp``) so that they load strictly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from types import FunctionType

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from ..errors import UsageError
from .features import FeatureInfo, FeatureLevel
from .tracing import register_leaf_module

NormLayer = Callable[[int], nn.Module]
ActLayer = Callable[[], nn.Module]


@register_leaf_module
class Swish(nn.SiLU):
    """SiLU that overwrites its input when no gradient is being recorded.

    Skipping the allocation of a fresh output is a large share of the inference time on the CPU.
    Under autograd an in-place SiLU would have to copy its input for the backward pass, so there it
    is not. Its owner (:class:`ConvNormAct`, :class:`FeedForward`) gives it a fresh convolution,
    BatchNorm or linear output that nothing else holds, or a copy where a forward hook might keep one.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(x, inplace=not (torch.is_grad_enabled() and x.requires_grad))


@register_leaf_module
class BatchNorm2d(nn.BatchNorm2d):
    """BatchNorm that scales and shifts its input in place in eval mode when no gradient is recorded.

    One pass over the map and no fresh tensor: on the CPU that makes an unfused eval model nearly
    as fast as a fused one (:meth:`ImageClassifier.fuse`, which removes the BatchNorms). Like
    :class:`Swish`, its owner gives it a tensor nothing else holds (a copy where a forward hook might
    keep one); in training and under autograd it is ``nn.BatchNorm2d`` as it is. Its keys are BatchNorm's.
    """

    # BatchNorm's own forward under another name, for TorchScript, which compiles no ``super()``
    # call and names a method after its function.
    _batch_norm = FunctionType(
        nn.BatchNorm2d.forward.__code__,
        nn.BatchNorm2d.forward.__globals__,
        "_batch_norm",
        nn.BatchNorm2d.forward.__defaults__,
        nn.BatchNorm2d.forward.__closure__,
    )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        statistics = self.running_var
        in_place = not self.training and self.affine and statistics is not None and x.dtype == statistics.dtype
        if not in_place or (torch.is_grad_enabled() and x.requires_grad):
            return self._batch_norm(x)
        scale = self.weight * (self.running_var + self.eps).rsqrt_()
        shift = torch.addcmul(self.bias, self.running_mean, scale, value=-1)
        return torch.addcmul(shift.view(1, -1, 1, 1), x, scale.view(1, -1, 1, 1), out=x)


@dataclass(frozen=True)
class MobileNetV2Stage:
    """A stage of MobileNetV2 inverted residual blocks."""

    out_channels: int
    stride: int
    num_blocks: int
    expand_ratio: int


@dataclass(frozen=True)
class MobileViTStage:
    """A strided inverted residual block followed by one MobileViT block."""

    out_channels: int
    stride: int
    transformer_dim: int
    ffn_dim: int
    depth: int
    expand_ratio: int


Stage = MobileNetV2Stage | MobileViTStage

ARCHS: dict[str, tuple[Stage, ...]] = {
    "small": (
        MobileNetV2Stage(out_channels=32, stride=1, num_blocks=1, expand_ratio=4),
        MobileNetV2Stage(out_channels=64, stride=2, num_blocks=3, expand_ratio=4),
        MobileViTStage(out_channels=96, stride=2, transformer_dim=144, ffn_dim=288, depth=2, expand_ratio=4),
        MobileViTStage(out_channels=128, stride=2, transformer_dim=192, ffn_dim=384, depth=4, expand_ratio=4),
        MobileViTStage(out_channels=160, stride=2, transformer_dim=240, ffn_dim=480, depth=3, expand_ratio=4),
    ),
    "x_small": (
        MobileNetV2Stage(out_channels=32, stride=1, num_blocks=1, expand_ratio=4),
        MobileNetV2Stage(out_channels=48, stride=2, num_blocks=3, expand_ratio=4),
        MobileViTStage(out_channels=64, stride=2, transformer_dim=96, ffn_dim=192, depth=2, expand_ratio=4),
        MobileViTStage(out_channels=80, stride=2, transformer_dim=120, ffn_dim=240, depth=4, expand_ratio=4),
        MobileViTStage(out_channels=96, stride=2, transformer_dim=144, ffn_dim=288, depth=3, expand_ratio=4),
    ),
    "xx_small": (
        MobileNetV2Stage(out_channels=16, stride=1, num_blocks=1, expand_ratio=2),
        MobileNetV2Stage(out_channels=24, stride=2, num_blocks=3, expand_ratio=2),
        MobileViTStage(out_channels=48, stride=2, transformer_dim=64, ffn_dim=128, depth=2, expand_ratio=2),
        MobileViTStage(out_channels=64, stride=2, transformer_dim=80, ffn_dim=160, depth=4, expand_ratio=2),
        MobileViTStage(out_channels=80, stride=2, transformer_dim=96, ffn_dim=192, depth=3, expand_ratio=2),
    ),
}


def resolve_arch(arch: str | Sequence[Stage | Sequence]) -> tuple[Stage, ...]:
    """Turn an arch name, a list of stage dataclasses, or mmpretrain-style lists
    (``['mobilenetv2', 32, 1, 1, 4]``, ``['mobilevit', 96, 2, 144, 288, 2, 4]``) into stages."""
    if isinstance(arch, str):
        key = arch.lower()
        if key not in ARCHS:
            raise UsageError(f"unknown MobileViT arch {arch!r}; valid archs: {', '.join(ARCHS)}")
        return ARCHS[key]
    stages = tuple(_parse_stage(stage) for stage in arch)
    if not stages:
        raise UsageError("a custom MobileViT arch needs at least one stage")
    return stages


def _parse_stage(stage: Stage | Sequence) -> Stage:
    if isinstance(stage, (MobileNetV2Stage, MobileViTStage)):
        return stage
    kinds = {"mobilenetv2": MobileNetV2Stage, "mobilevit": MobileViTStage}
    if not isinstance(stage, Sequence) or isinstance(stage, str) or not stage or stage[0] not in kinds:
        raise UsageError(
            f"cannot read arch stage {stage!r}: expected a MobileNetV2Stage/MobileViTStage or a list "
            "starting with 'mobilenetv2' (out, stride, blocks, expand) or 'mobilevit' "
            "(out, stride, transformer_dim, ffn_dim, depth, expand)"
        )
    kind = kinds[stage[0]]
    try:
        return kind(*stage[1:])
    except TypeError as error:
        raise UsageError(f"cannot read arch stage {stage!r}: {error}") from None


class ConvNormAct(nn.Module):
    """Convolution, optional BatchNorm, optional activation (keys ``conv``, ``bn``)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        groups: int = 1,
        norm_layer: NormLayer | None = BatchNorm2d,
        act_layer: ActLayer | None = Swish,
        bias: bool = False,
        dilation: int = 1,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding=kernel_size // 2 * dilation,
            dilation=dilation,
            groups=groups,
            bias=bias,
        )
        if norm_layer is not None:
            self.bn = norm_layer(out_channels)
        self.act = act_layer() if act_layer is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = getattr(self, "bn", None)  # absent once fused
        # BatchNorm2d and Swish overwrite the tensor they are given in inference; a hook may keep a
        # step's output (or input), so with hooks each step gets a copy.
        hooked = False if torch.jit.is_scripting() else self._hooked()
        spread = False if torch.jit.is_scripting() else self._spreads_gradient()
        x = self._conv_spreading_gradient(x) if spread else self.conv(x)
        if norm is not None:
            x = norm(x.clone() if hooked else x)
        return self.act(x.clone() if hooked else x)

    @torch.jit.unused
    def _hooked(self) -> bool:
        return has_hooks(self)

    @torch.jit.unused
    def _spreads_gradient(self) -> bool:
        """Whether this is a strided depthwise convolution run under the CPU's bfloat16 autocast (how
        ``mobilevit train`` runs bfloat16) with gradients recorded, whose input gradient
        :meth:`_conv_spreading_gradient` computes: PyTorch's own kernel for it there is 4-5x slower
        (0.8 s of a 2.8 s MobileViT-S step at batch 32). Parameters are only compared with ``is``,
        which a torch.fx trace allows."""
        conv = self.conv
        return (
            conv.stride[0] > 1
            and conv.bias is None
            and conv.groups == conv.in_channels == conv.out_channels
            and conv.padding_mode == "zeros"
            and torch.is_grad_enabled()
            and torch.is_autocast_enabled("cpu")
            and torch.get_autocast_dtype("cpu") == torch.bfloat16
        )

    @torch.jit.unused
    def _conv_spreading_gradient(self, x):  # unannotated: TorchScript cannot read this module's string annotations here
        """``self.conv(x)`` in bfloat16, with the input gradient of :class:`_SpreadGradientDepthwiseConv`
        (``ConvNormAct``'s convolutions have "same" padding: an odd kernel, ``dilation`` times its half)."""
        weight = self.conv.weight.to(torch.bfloat16)
        return _SpreadGradientDepthwiseConv.apply(
            x.to(torch.bfloat16), weight, self.conv.stride[0], self.conv.dilation[0]
        )

    @torch.no_grad()
    def fuse(self) -> None:
        """Fold a BatchNorm into the convolution, in place (inference only).

        ``bn.*`` disappears and the convolution gains a bias; other norm layers are kept as they are.
        """
        norm = getattr(self, "bn", None)
        if not isinstance(norm, nn.modules.batchnorm._BatchNorm):
            return
        if norm.running_var is None:
            raise UsageError("cannot fuse a BatchNorm that tracks no running statistics")
        weight, bias = fold_batch_norm(self.conv, norm)
        self.conv.weight.copy_(weight)  # in place keeps the weight's memory format
        self.conv.bias = nn.Parameter(bias)
        del self.bn


class _SpreadGradientDepthwiseConv(torch.autograd.Function):
    """A depthwise convolution with "same" padding whose input gradient is the stride-1
    convolution, by the flipped kernel, of the output gradient spread onto a zero map of the
    input's size (the transposed convolution written out)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, stride: int, dilation: int) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.padding, ctx.dilation = stride, dilation * (weight.shape[-1] // 2), dilation
        return F.conv2d(x, weight, None, stride, ctx.padding, dilation, weight.shape[0])

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None, None, None]:
        x, weight = ctx.saved_tensors
        stride, padding, dilation, channels = ctx.stride, ctx.padding, ctx.dilation, weight.shape[0]
        grad_input = grad_weight = None
        if ctx.needs_input_grad[0]:
            spread = torch.zeros_like(x, dtype=grad.dtype)  # in the input's memory format
            spread[..., ::stride, ::stride] = grad
            grad_input = F.conv2d(spread, weight.flip(-2, -1), None, 1, padding, dilation, channels)
        if ctx.needs_input_grad[1]:
            grad_weight = torch.ops.aten.convolution_backward(
                grad,
                x,
                weight,
                None,
                [stride] * 2,
                [padding] * 2,
                [dilation] * 2,
                False,
                [0, 0],
                channels,
                [False, True, False],
            )[1]
        return grad_input, grad_weight, None, None


def _is_channels_last(x: torch.Tensor) -> bool:
    return not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)


def fold_batch_norm(conv: nn.Conv2d, norm: nn.modules.batchnorm._BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    """The weight and bias of one convolution equal to ``conv`` followed by ``norm`` in eval mode."""
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight
    shift = -norm.running_mean * scale
    if norm.bias is not None:
        shift = shift + norm.bias
    if conv.bias is not None:
        shift = shift + conv.bias * scale
    return conv.weight * scale.reshape(-1, 1, 1, 1), shift


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand, 3x3 depthwise, 1x1 linear projection (keys ``conv.0-2``).

    ``dilation`` applies to the depthwise convolution (a dilated stage of a dense-task backbone).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        expand_ratio: int,
        norm_layer: NormLayer = BatchNorm2d,
        act_layer: ActLayer = Swish,
        dilation: int = 1,
    ) -> None:
        super().__init__()
        hidden = int(round(in_channels * expand_ratio))
        layers = []
        if expand_ratio != 1:
            layers.append(ConvNormAct(in_channels, hidden, 1, norm_layer=norm_layer, act_layer=act_layer))
        layers += [
            ConvNormAct(
                hidden, hidden, 3, stride, groups=hidden, norm_layer=norm_layer, act_layer=act_layer, dilation=dilation
            ),
            ConvNormAct(hidden, out_channels, 1, norm_layer=norm_layer, act_layer=None),
        ]
        self.conv = nn.Sequential(*layers)
        self.use_residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        if self.use_residual:
            out += x  # in place: ``out`` is a fresh tensor that nothing else holds
        return out


# Training on a CPU computes float32 attention over at most this many tokens as two matrix
# products, faster there than ``scaled_dot_product_attention`` (forward and backward of one layer:
# 1.14-3.5x at 16-144 tokens with 16-60 channels a head, 0.81-1.04x at 256; benchmarks/README.md).
FLOAT32_PRODUCTS_MAX_TOKENS = 144


class Attention(nn.Module):
    """Multi-head self-attention with a fused qkv projection (rows ordered q, k, v)."""

    def __init__(self, dim: int, num_heads: int, attn_drop: float = 0.0) -> None:
        super().__init__()
        if dim % num_heads:
            raise UsageError(f"transformer dim {dim} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        # Given as a number rather than left to scaled_dot_product_attention, which works it out
        # from the tensors' shapes: an exported graph would compute it on every call.
        self.scale = (dim // num_heads) ** -0.5
        self.attn_drop = attn_drop
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, dim = x.shape
        # (B, N, 3*D) -> (3, B, heads, N, D/heads)
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        products = False if torch.jit.is_scripting() else self._products_are_faster(q)  # scripted: inference
        if products:
            x = self._products_attention(q, k, v)
        else:
            x = F.scaled_dot_product_attention(
                q, k, v, dropout_p=self.attn_drop if self.training else 0.0, scale=self.scale
            )
        # (B, heads, N, D/heads) -> (B, N, D)
        return self.proj(x.transpose(1, 2).reshape(batch, tokens, dim))

    @torch.jit.unused
    def _products_are_faster(self, q: torch.Tensor) -> bool:
        """Whether :meth:`_products_attention` is the faster path: training on a CPU, in bfloat16, or
        in float32 over at most :data:`FLOAT32_PRODUCTS_MAX_TOKENS` tokens."""
        if not q.requires_grad or q.device.type != "cpu":
            return False
        return q.dtype == torch.bfloat16 or q.shape[-2] <= FLOAT32_PRODUCTS_MAX_TOKENS

    def _products_attention(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Attention as two matrix products around a softmax, for training on a CPU: in bfloat16
        (there the backward pass of ``scaled_dot_product_attention`` took 37 % of an XXS step, and a
        step is 1.36x faster this way, S 1.17x), and in float32 over few tokens
        (:data:`FLOAT32_PRODUCTS_MAX_TOKENS`; benchmarks/README.md). The softmax takes bfloat16
        products as they are (PyTorch computes it in float32 and rounds once): a float32 softmax
        and its bfloat16 copy gave the same input gradient and cost XXS 1.17x of a step."""
        weights = torch.matmul(q * self.scale, k.transpose(-2, -1)).softmax(-1)
        return torch.matmul(F.dropout(weights, self.attn_drop, self.training), v)


class FeedForward(nn.Module):
    """Linear, Swish, Linear; laid out as ``layers.0.0`` and ``layers.1`` like mmpretrain's FFN."""

    def __init__(self, dim: int, hidden_dim: int, act_layer: ActLayer = Swish, drop: float = 0.0) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Sequential(nn.Linear(dim, hidden_dim), act_layer(), nn.Dropout(drop)),
            nn.Linear(hidden_dim, dim),
            nn.Dropout(drop),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.layers[0]
        hooked = False if torch.jit.is_scripting() else self._hooked()  # Swish overwrites its input (see ConvNormAct)
        x = hidden[0](x)
        return self.layers[2](self.layers[1](hidden[2](hidden[1](x.clone() if hooked else x))))

    @torch.jit.unused
    def _hooked(self) -> bool:
        return has_hooks(self.layers[0])


def has_hooks(module: nn.Module) -> bool:
    """Whether a forward hook of ``module``, of its direct children, or a global one may keep a
    tensor that an in-place step would change."""
    if _GLOBAL_FORWARD_HOOKS or _GLOBAL_FORWARD_PRE_HOOKS or module._forward_hooks or module._forward_pre_hooks:
        return True
    for child in module._modules.values():
        if child is not None and (child._forward_hooks or child._forward_pre_hooks):
            return True
    return False


_GLOBAL_FORWARD_HOOKS = nn.modules.module._global_forward_hooks  # the dicts themselves, filled in place
_GLOBAL_FORWARD_PRE_HOOKS = nn.modules.module._global_forward_pre_hooks


class TransformerLayer(nn.Module):
    """Pre-norm transformer encoder layer (keys ``ln1``, ``attn``, ``ln2``, ``ffn``)."""

    def __init__(self, dim: int, ffn_dim: int, num_heads: int = 4, drop: float = 0.0, attn_drop: float = 0.0) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads, attn_drop)
        self.drop = nn.Dropout(drop)
        self.ln2 = nn.LayerNorm(dim)
        self.ffn = FeedForward(dim, ffn_dim, drop=drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Each branch ends in a fresh tensor, so the shortcut is added to it in place; ``x`` itself
        # must stay intact for the LayerNorm's backward pass.
        x = self.drop(self.attn(self.ln1(x))).add_(x)
        return self.ffn(self.ln2(x)).add_(x)


@register_leaf_module
class MobileViTBlock(nn.Module):
    """Local 3x3 conv, global transformer over unfolded patches, projection and fusion."""

    def __init__(
        self,
        channels: int,
        transformer_dim: int,
        ffn_dim: int,
        depth: int,
        patch_size: int = 2,
        num_heads: int = 4,
        drop: float = 0.0,
        attn_drop: float = 0.0,
        norm_layer: NormLayer = BatchNorm2d,
        act_layer: ActLayer = Swish,
    ) -> None:
        super().__init__()
        self.patch_size = patch_size
        # True: resize up and back even where the sides divide the patch (an exact identity there),
        # so that a traced graph (ONNX, TorchScript), whose branches are fixed, serves every size.
        self.always_resize = False
        self.local_rep = nn.Sequential(
            ConvNormAct(channels, channels, 3, norm_layer=norm_layer, act_layer=act_layer),
            ConvNormAct(channels, transformer_dim, 1, norm_layer=None, act_layer=None),  # no bias, no norm
        )
        layers: list[nn.Module] = [
            TransformerLayer(transformer_dim, ffn_dim, num_heads, drop, attn_drop) for _ in range(depth)
        ]
        self.global_rep = nn.Sequential(*layers, nn.LayerNorm(transformer_dim))
        self.conv_proj = ConvNormAct(transformer_dim, channels, 1, norm_layer=norm_layer, act_layer=act_layer)
        self.conv_fusion = ConvNormAct(2 * channels, channels, 3, norm_layer=norm_layer, act_layer=act_layer)

    def unfold(self, x: torch.Tensor) -> torch.Tensor:
        """Split a feature map into patch-position groups of tokens."""
        batch, channels, height, width = x.shape
        p = self.patch_size
        # (B, C, H, W) -> (B, C, nH, p, nW, p) -> (B, p, p, nH, nW, C) -> (B*P, N, C)
        x = x.reshape(batch, channels, height // p, p, width // p, p).permute(0, 3, 5, 2, 4, 1)
        return x.reshape(batch * p * p, (height // p) * (width // p), channels)

    def fold(self, x: torch.Tensor, batch: int, height: int, width: int, channels_last: bool = False) -> torch.Tensor:
        """Inverse of :meth:`unfold`; ``channels_last`` lays the map out in that memory format."""
        p = self.patch_size
        channels = x.shape[-1]
        # (B*P, N, C) -> (B, p, p, nH, nW, C)
        x = x.reshape(batch, p, p, height // p, width // p, channels)
        if channels_last:
            # (B, p, p, nH, nW, C) -> (B, nH, p, nW, p, C) -> (B, H, W, C) -> (B, C, H, W) as a view
            x = x.permute(0, 3, 1, 4, 2, 5).reshape(batch, height, width, channels)
            return x.permute(0, 3, 1, 2)
        # (B, p, p, nH, nW, C) -> (B, C, nH, p, nW, p) -> (B, C, H, W)
        return x.permute(0, 5, 3, 1, 4, 2).reshape(batch, channels, height, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.local_rep(x)
        batch, _, height, width = x.shape
        p = self.patch_size
        # Integer arithmetic, so that traced and compiled graphs keep the sizes symbolic.
        padded_h, padded_w = (height + p - 1) // p * p, (width + p - 1) // p * p
        # As the reference implementations do, sides that are not multiples of the patch are resized
        # up to the next multiple and back. A graph traced to serve every input size takes this
        # path always (see ``always_resize``).
        resize = self.always_resize or (padded_h, padded_w) != (height, width)
        if resize:
            x = F.interpolate(x, size=(padded_h, padded_w), mode="bilinear", align_corners=False)
        # Fold back into the memory format the block was given, so channels-last models stay so.
        channels_last = _is_channels_last(x)
        x = self.fold(self.global_rep(self.unfold(x)), batch, padded_h, padded_w, channels_last)
        if resize:
            x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)
        x = self.conv_proj(x)
        return self.conv_fusion(torch.cat((shortcut, x), dim=1))


class MobileViT(nn.Module):
    """MobileViT backbone: stem, five stages, a final 1x1 expansion.

    Args:
        arch: ``'small'``, ``'x_small'``, ``'xx_small'`` or a custom list of stages.
        in_channels: channels of the input image.
        stem_channels: output channels of the stride-2 stem convolution.
        last_exp_factor: the final 1x1 convolution expands the last stage's channels by this.
        out_indices: which stage outputs to return (0-4: strides 2, 4, 8, 16, 32), in stage order
            whatever the order given; the last stage's output is taken after the final expansion
            when there is one. ``feature_info`` describes them (channels, reduction, module), as
            timm's does.
        output_stride: 32 (classification), 16 or 8 for dense heads: the stride-2 block opening
            each stage past that stride runs at stride 1, its depthwise convolution dilated by the
            dilation in force before the stage (as ml-cvnets and Hugging Face do; the MobileViT
            blocks are unchanged). 16: the last stage; 8: the last two.
        expand_output: build the final 1x1 expansion (``conv_1x1_exp``); dense heads read the last
            stage's map before it, and their checkpoints have no such keys.
        frozen_stages: freeze the stem and the first N stages (-1: nothing frozen).
        norm_eval: keep every BatchNorm in eval mode while training.
        drop_rate: dropout inside the transformer layers.
        channels_last: compute in channels-last memory whatever the input's layout (faster with
            oneDNN on CPUs and with cuDNN on GPUs); the feature maps then come out channels-last.
            Off here, so a backbone hands out maps in the usual layout; the classifier and the
            dense models turn it on inside, where their outputs are pooled or decoded.

    ``model(x)`` returns the list of maps (a list, as timm's ``features_only`` models and TorchScript
    want it). :meth:`set_grad_checkpointing` trades compute for training memory.
    """

    def __init__(
        self,
        arch: str | Sequence[Stage | Sequence] = "small",
        in_channels: int = 3,
        stem_channels: int = 16,
        last_exp_factor: int = 4,
        out_indices: int | Sequence[int] = (-1,),
        output_stride: int = 32,
        expand_output: bool = True,
        frozen_stages: int = -1,
        norm_eval: bool = False,
        drop_rate: float = 0.0,
        channels_last: bool = False,
        norm_layer: NormLayer = BatchNorm2d,
        act_layer: ActLayer = Swish,
    ) -> None:
        super().__init__()
        self.arch = resolve_arch(arch)
        self.channels_last = channels_last
        self.in_channels = in_channels
        num_stages = len(self.arch)
        self.out_indices = self._check_out_indices(out_indices, num_stages)
        if frozen_stages not in range(-1, num_stages + 1):
            raise UsageError(f"frozen_stages must be in [-1, {num_stages}], got {frozen_stages}")
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.fused = False
        self.output_stride = output_stride

        self.stem = ConvNormAct(in_channels, stem_channels, 3, stride=2, norm_layer=norm_layer, act_layer=act_layer)
        channels = stem_channels
        layers = []
        # each stage's output channels, the last after the expansion
        self.stage_channels = [stage.out_channels for stage in self.arch]
        for stage, (stride, dilation) in zip(self.arch, stage_strides(self.arch, output_stride)):
            layers.append(self._make_stage(stage, channels, stride, dilation, drop_rate, norm_layer, act_layer))
            channels = stage.out_channels
        self.layers = nn.Sequential(*layers)
        self.conv_1x1_exp: nn.Module | None = None
        if expand_output:
            self.conv_1x1_exp = ConvNormAct(
                channels, channels * last_exp_factor, 1, norm_layer=norm_layer, act_layer=act_layer
            )
            self.stage_channels[-1] = channels * last_exp_factor
        self.feature_info = FeatureInfo(self._feature_levels(), sorted(set(self.out_indices)))  # maps' order
        self.grad_checkpointing = False
        self.init_weights()
        self._freeze_stages()

    @staticmethod
    def _check_out_indices(out_indices: int | Sequence[int], num_stages: int) -> tuple[int, ...]:
        indices = (out_indices,) if isinstance(out_indices, int) else tuple(out_indices)
        resolved = tuple(index % num_stages if -num_stages <= index < num_stages else None for index in indices)
        if not indices or None in resolved:
            raise UsageError(
                f"out_indices must be stage numbers in [{-num_stages}, {num_stages - 1}], got {out_indices}"
            )
        return resolved  # type: ignore[return-value]

    def _feature_levels(self) -> list[FeatureLevel]:
        """Each stage's channels, stride from the input and module (the last after the expansion)."""
        levels, reduction = [], 2  # the stem's stride
        for index, (stride, _) in enumerate(stage_strides(self.arch, self.output_stride)):
            reduction *= stride
            last = index == len(self.arch) - 1
            module = "conv_1x1_exp" if last and self.conv_1x1_exp is not None else f"layers.{index}"
            levels.append(FeatureLevel(self.stage_channels[index], reduction, module))
        return levels

    @staticmethod
    def _make_stage(
        stage: Stage,
        in_channels: int,
        stride: int,
        dilation: int,
        drop_rate: float,
        norm_layer: NormLayer,
        act_layer: ActLayer,
    ) -> nn.Sequential:
        """A stage whose opening block has ``stride`` and ``dilation`` (see :func:`stage_strides`)."""
        if isinstance(stage, MobileNetV2Stage):
            blocks = [
                InvertedResidual(
                    in_channels if i == 0 else stage.out_channels,
                    stage.out_channels,
                    stride if i == 0 else 1,
                    stage.expand_ratio,
                    norm_layer,
                    act_layer,
                    dilation if i == 0 else 1,
                )
                for i in range(stage.num_blocks)
            ]
            return nn.Sequential(*blocks)
        return nn.Sequential(
            InvertedResidual(
                in_channels, stage.out_channels, stride, stage.expand_ratio, norm_layer, act_layer, dilation
            ),
            MobileViTBlock(
                stage.out_channels,
                stage.transformer_dim,
                stage.ffn_dim,
                stage.depth,
                drop=drop_rate,
                norm_layer=norm_layer,
                act_layer=act_layer,
            ),
        )

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each block's activations in the backward pass instead of keeping them (timm's
        method): less training memory for about one more forward. BatchNorm statistics are updated
        once per step all the same, and the gradients are the same."""
        self.grad_checkpointing = enable

    def init_weights(self) -> None:
        """Kaiming-normal convolutions, truncated-normal linears, unit norms (the original recipe)."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.BatchNorm2d, nn.LayerNorm)):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def _frozen_modules(self) -> list[nn.Module]:
        if self.frozen_stages < 0:
            return []
        return [self.stem, *self.layers[: self.frozen_stages]]

    def _freeze_stages(self) -> None:
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    @torch.no_grad()
    def fuse(self) -> MobileViT:
        """Fold every BatchNorm into its convolution for inference, in place; returns the model.

        The outputs stay the same (to float rounding) and each forward skips one pass over every
        feature map per BatchNorm; a backbone that computes channels-last also gets channels-last
        convolution weights, which spares oneDNN a reorder per call. The fused model is
        inference-only (``train()`` raises) and its state dict differs: the ``...bn.*`` keys are
        gone and each such convolution has a ``conv.bias``.
        """
        self.eval()
        for module in self.modules():
            if isinstance(module, ConvNormAct):
                module.fuse()
        if self.channels_last:
            self.to(memory_format=torch.channels_last)
        self.fused = True
        return self

    def train(self, mode: bool = True) -> MobileViT:
        if mode and self.fused:
            raise RuntimeError("a fused MobileViT (see fuse()) is for inference only; build a new model to train")
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return the feature maps of the stages in ``out_indices``."""
        check_image_batch(x, self.in_channels)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.stem(x)
        outs: list[torch.Tensor] = []
        last = len(self.layers) - 1
        for index, layer in enumerate(self.layers):
            if self.grad_checkpointing and torch.is_grad_enabled() and not torch.jit.is_scripting():
                x = _checkpointed(layer, x)
            else:
                x = layer(x)
            if index == last:
                expansion = self.conv_1x1_exp
                if expansion is not None:
                    x = expansion(x)
            if index in self.out_indices:
                outs.append(x)
        return outs


def _checkpointed(stage: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """Run ``stage`` keeping only each block's input for the backward pass."""
    for block in stage:
        x = checkpoint(
            block, x, use_reentrant=False, context_fn=lambda block=block: (nullcontext(), _statistics_kept(block))
        )
    return x


@contextmanager
def _statistics_kept(module: nn.Module) -> Iterator[None]:
    """Put back the BatchNorm statistics that a recomputed forward pass would update a second time."""
    norms = [
        norm
        for norm in module.modules()
        if isinstance(norm, nn.modules.batchnorm._BatchNorm) and norm.training and norm.track_running_stats
    ]
    saved = [[buffer.clone() for buffer in norm.buffers()] for norm in norms]
    try:
        yield
    finally:
        with torch.no_grad():
            for norm, buffers in zip(norms, saved):
                for buffer, value in zip(norm.buffers(), buffers):
                    buffer.copy_(value)


def stage_strides(arch: Sequence[Stage], output_stride: int = 32) -> list[tuple[int, int]]:
    """The (stride, dilation) of each stage's opening block for a backbone of ``output_stride``.

    Once the stem (stride 2) and the stages reach ``output_stride``, every later stride-2 stage
    opens at stride 1 instead, its depthwise convolution dilated by the dilation in force before
    that stage, which then doubles (ml-cvnets' ``dilate_l4``/``dilate_l5``).
    """
    if output_stride not in (8, 16, 32):
        raise UsageError(f"output_stride must be 8, 16 or 32, got {output_stride}")
    reached, dilation, strides = 2, 1, []
    for stage in arch:
        if stage.stride == 1:
            strides.append((1, 1))
        elif reached < output_stride:
            reached *= stage.stride
            strides.append((stage.stride, 1))
        else:
            strides.append((1, dilation))
            dilation *= stage.stride
    return strides


@torch.fx.wrap  # a call in a torch.fx graph, which keeps the check
def check_image_batch(x: torch.Tensor, channels: int) -> None:
    """Raise a clear error unless ``x`` is a (B, channels, H, W) tensor."""
    if torch.jit.is_scripting():  # TorchScript has typed ``x`` already and checks the shapes itself
        return
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor of shape (B, {channels}, H, W), got {type(x).__name__}")
    if torch.jit.is_tracing():  # sizes are traced values then, which Python cannot compare
        return
    if x.ndim != 4 or x.shape[1] != channels:
        raise UsageError(f"expected an image batch of shape (B, {channels}, H, W), got {tuple(x.shape)}")
