"""ExecuTorch: a ``.pte`` program lowered to the XNNPACK delegate, float32 or int8 (XNNPACK's PT2E
quantizer), and ExecuTorch's runtime as a backend.

XNNPACK takes every operator of :func:`delegable`'s copy of the model, so the whole forward runs
in one delegate call; exported as built, 268 of the 666 nodes of MobileViT-XXS (LayerNorm, the
masking of the decomposed ``scaled_dot_product_attention``, its scaling, ``squeeze`` and the final
``mean``) ran in ExecuTorch's portable reference kernels between 50 delegate calls, and of a
MobileViT v2 its GroupNorms, the split of its query, keys and values and the sum over patches.
"""

from __future__ import annotations

import copy
import operator
import os
from collections import Counter
from pathlib import Path

import torch
from torch import nn

from ..errors import UsageError
from ..models.mobilevit import Attention, MobileViT
from ..models.mobilevit_v2 import SeparableSelfAttention
from ..tasks import task_of
from .pt2e import FULL_RESOLUTION_MODULES, FloatModules, calibrated
from .runtime import check_batch, import_runtime, run_in_slices


class MatmulAttention(nn.Module):
    """:class:`~mobilevit.models.mobilevit.Attention` as separate query, key and value projections,
    two batched matrix products and a softmax over the last axis, all of which XNNPACK runs.

    The attention scale is folded into the query projection's weights and the key comes out
    already transposed, so no scalar multiply, transpose, select or mask is left in the graph.
    """

    def __init__(self, attention: Attention) -> None:
        super().__init__()
        self.num_heads = attention.num_heads
        dim = attention.proj.in_features
        weight, bias = attention.qkv.weight.detach(), attention.qkv.bias.detach()
        scales = (attention.scale, 1.0, 1.0)
        self.query, self.key, self.value = (nn.Linear(dim, dim) for _ in scales)
        with torch.no_grad():
            for index, (linear, scale) in enumerate(zip((self.query, self.key, self.value), scales)):
                linear.weight.copy_(weight[index * dim : (index + 1) * dim] * scale)
                linear.bias.copy_(bias[index * dim : (index + 1) * dim] * scale)
        self.proj = copy.deepcopy(attention.proj)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, dim = x.shape
        heads, head_dim = self.num_heads, dim // self.num_heads
        # (B, N, D) -> (B, heads, N, D/heads) -> (B*heads, N, D/heads); the key as (B*heads, D/heads, N)
        query = self.query(x).reshape(batch, tokens, heads, head_dim).permute(0, 2, 1, 3)
        key = self.key(x).reshape(batch, tokens, heads, head_dim).permute(0, 2, 3, 1)
        value = self.value(x).reshape(batch, tokens, heads, head_dim).permute(0, 2, 1, 3)
        weights = torch.softmax(
            torch.bmm(query.reshape(batch * heads, tokens, head_dim), key.reshape(batch * heads, head_dim, tokens)),
            dim=-1,
        )
        x = torch.bmm(weights, value.reshape(batch * heads, tokens, head_dim)).reshape(batch, heads, tokens, head_dim)
        return self.proj(x.transpose(1, 2).reshape(batch, tokens, dim))


class MeanLayerNorm(nn.Module):
    """``nn.LayerNorm`` over the last axis of (B, N, C) tokens written with means over the last two
    axes of a 4-D view, subtractions, multiplies and an ``rsqrt``, which XNNPACK runs (it has no
    LayerNorm and averages 4-D tensors over their inner two axes only)."""

    def __init__(self, norm: nn.LayerNorm) -> None:
        super().__init__()
        if norm.normalized_shape != (norm.weight.shape[-1],):
            raise UsageError(f"only a LayerNorm over the last axis is rewritten, got {norm.normalized_shape}")
        self.weight = nn.Parameter(norm.weight.detach().clone())
        self.bias = nn.Parameter(norm.bias.detach().clone())
        self.register_buffer("eps", torch.tensor(norm.eps))  # a tensor: XNNPACK adds tensors, not scalars

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, channels = x.shape
        x = x.reshape(batch, tokens, 1, channels)
        centred = x - x.mean((2, 3), keepdim=True)
        variance = (centred * centred).mean((2, 3), keepdim=True)
        x = centred * torch.rsqrt(variance + self.eps)
        return (x * self.weight + self.bias).reshape(batch, tokens, channels)


class ProductSeparableAttention(nn.Module):
    """:class:`~mobilevit.models.mobilevit_v2.SeparableSelfAttention` with its query, keys and values
    from three 1x1 convolutions (no split) and the keys weighed and summed over the N patches as one
    batched matrix product (XNNPACK has no sum)."""

    def __init__(self, attention: SeparableSelfAttention) -> None:
        super().__init__()
        dim = attention.dim
        weight, bias = attention.qkv_proj.weight.detach(), attention.qkv_proj.bias.detach()
        self.query, self.key, self.value = (nn.Conv2d(dim, size, 1) for size in (1, dim, dim))
        with torch.no_grad():
            start = 0
            for conv in (self.query, self.key, self.value):
                conv.weight.copy_(weight[start : start + conv.out_channels])
                conv.bias.copy_(bias[start : start + conv.out_channels])
                start += conv.out_channels
        self.out_proj = copy.deepcopy(attention.out_proj)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, dim, pixels, patches = x.shape
        # (B, 1, P, N) -> (B, P, N), softmax over the patches -> (B*P, N, 1): the weight of each patch per
        # pixel position. Taken straight from the convolution's 4-D output, XNNPACK's softmax ran over
        # the channels of its channels-last layout (logits off by the whole range).
        scores = self.query(x).reshape(batch, pixels, patches).softmax(dim=-1).reshape(batch * pixels, patches, 1)
        # (B, d, P, N) -> (B*P, d, N); times the scores -> (B*P, d, 1) -> (B, d, P, 1)
        key = self.key(x).permute(0, 2, 1, 3).reshape(batch * pixels, dim, patches)
        context = torch.bmm(key, scores).reshape(batch, pixels, dim, 1).permute(0, 2, 1, 3)
        return self.out_proj(torch.relu(self.value(x)) * context)


class MeanGroupNorm(nn.Module):
    """``nn.GroupNorm`` with one group over (B, C, H, W) written with means over the last two axes
    of a (B, 1, C, H*W) view, subtractions, multiplies and an ``rsqrt``, which XNNPACK runs."""

    def __init__(self, norm: nn.GroupNorm) -> None:
        super().__init__()
        if norm.num_groups != 1 or not norm.affine:
            raise UsageError(f"only an affine GroupNorm of one group is rewritten, got {norm}")
        self.weight = nn.Parameter(norm.weight.detach().clone().reshape(-1, 1, 1))
        self.bias = nn.Parameter(norm.bias.detach().clone().reshape(-1, 1, 1))
        self.register_buffer("eps", torch.tensor(norm.eps))  # a tensor: XNNPACK adds tensors, not scalars

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        flat = x.reshape(batch, 1, channels, height * width)
        centred = flat - flat.mean((2, 3), keepdim=True)
        variance = (centred * centred).mean((2, 3), keepdim=True)
        normed = (centred * torch.rsqrt(variance + self.eps)).reshape(batch, channels, height, width)
        return normed * self.weight + self.bias


class PooledClassifier(nn.Module):
    """A classifier's forward with the global average pool kept 4-D (``keepdim``), as XNNPACK's
    global average pooling takes it."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.backbone, self.head = model.backbone, model.head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x)[-1].mean((2, 3), keepdim=True).flatten(1))


def delegable(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (fused: a classifier, a segmenter or a detector's network) computing the
    same outputs (within float rounding, 1e-7 on XXS) with operators XNNPACK takes:
    :class:`MatmulAttention`, :class:`MeanLayerNorm`, v2's :class:`ProductSeparableAttention` and
    :class:`MeanGroupNorm`, a classifier's pool as :class:`PooledClassifier`,
    and the input and weights in the default memory layout (no copy to channels-last; XNNPACK picks its own)."""
    model = copy.deepcopy(model)
    for module in list(model.modules()):
        for name, child in module.named_children():
            if isinstance(child, Attention):
                setattr(module, name, MatmulAttention(child))
            elif isinstance(child, nn.LayerNorm):
                setattr(module, name, MeanLayerNorm(child))
            elif isinstance(child, SeparableSelfAttention):
                setattr(module, name, ProductSeparableAttention(child))
            elif isinstance(child, nn.GroupNorm):
                setattr(module, name, MeanGroupNorm(child))
    for module in model.modules():
        if isinstance(module, MobileViT):
            module.channels_last = False
    # fuse() lays the weights out channels-last; XNNPACK's layout pass takes the default layout
    model = model.to(memory_format=torch.contiguous_format)
    pooled = hasattr(model, "task") and task_of(model).pooled_head  # a detector's network has no task
    return (PooledClassifier(model) if pooled else model).eval()


def export_executorch(
    model: nn.Module, example: torch.Tensor, path: Path, calibration: torch.Tensor | None = None
) -> None:
    """Write ``model`` (already fused) as an ExecuTorch program for ``example``'s shape: its
    :func:`delegable` copy lowered to XNNPACK, int8 (XNNPACK's quantizer: per-channel symmetric
    weights, static activations) when ``calibration`` images are given."""
    path.write_bytes(to_xnnpack(delegable(model), example, calibration).to_executorch().buffer)


def to_xnnpack(network: nn.Module, example: torch.Tensor, calibration: torch.Tensor | None = None):
    """``network`` exported for ``example``'s shape (int8 when ``calibration`` images are given) and
    lowered to the XNNPACK delegate: ExecuTorch's ``EdgeProgramManager``, before serialization."""
    xnnpack = import_runtime("executorch.backends.xnnpack.partition.xnnpack_partitioner", "exporting to ExecuTorch")
    exir = import_runtime("executorch.exir", "exporting to ExecuTorch")
    with torch.no_grad():
        if calibration is not None:
            network = _quantize(network, calibration)
        program = torch.export.export(network, (example,))
        return exir.to_edge_transform_and_lower(program, partitioner=[xnnpack.XnnpackPartitioner()])


def undelegated_operators(lowered) -> Counter[str]:
    """How many times each operator of a :func:`to_xnnpack` program runs outside the delegate, in
    ExecuTorch's portable kernels (empty when XNNPACK runs the whole graph)."""
    graph = lowered.exported_program().graph_module.graph
    return Counter(
        getattr(node.target, "__name__", str(node.target))
        for node in graph.nodes
        if node.op == "call_function"
        and node.target is not operator.getitem
        and "executorch_call_delegate" not in str(node.target)
    )


def _quantize(network: nn.Module, calibration: torch.Tensor) -> torch.nn.Module:
    xnnpack_quantizer = import_runtime(
        "executorch.backends.xnnpack.quantizer.xnnpack_quantizer", "int8 quantization for ExecuTorch"
    )
    quantizer = xnnpack_quantizer.XNNPACKQuantizer().set_global(
        xnnpack_quantizer.get_symmetric_quantization_config(is_per_channel=True)
    )
    return calibrated(
        network, FloatModules(quantizer, FULL_RESOLUTION_MODULES), calibration, "int8 quantization for ExecuTorch"
    )


class ExecuTorchRunner:
    """Logits of an ExecuTorch program (``.pte``) computed by ExecuTorch's runtime, as
    :class:`~mobilevit.export.OnnxRunner` computes them with ONNX Runtime.

    The program takes batches of the size it was exported for; other multiples of it run in
    slices. ExecuTorch's XNNPACK thread pool is one per process (by default a thread per core).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        runtime = import_runtime("executorch.runtime", "running an ExecuTorch program")
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"ExecuTorch program not found: {path}")
        try:
            self.method = runtime.Runtime.get().load_program(path).load_method("forward")
        except (RuntimeError, ValueError) as error:
            raise UsageError(f"cannot load ExecuTorch program {path}: {error}") from None
        self.path = path
        self.input_shape = tuple(self.method.metadata.input_tensor_meta(0).sizes())

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        fixed_batch = check_batch(self.path, self.input_shape, batch)
        array = batch.detach().to("cpu", torch.float32).contiguous().numpy()
        return run_in_slices(lambda part: self.method.execute([torch.from_numpy(part)])[0].numpy(), array, fixed_batch)
