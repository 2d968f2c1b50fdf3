"""Parameter and multiply-add counts, measured by running the model once; tensor memory of a step."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from .models.mobilevit import Attention
from .models.mobilevit_v2 import SeparableSelfAttention
from .tasks import task_of


@dataclass(frozen=True)
class Complexity:
    """Counts for one input shape. ``macs`` is the total of the per-kind counts in ``breakdown``."""

    params: int
    macs: int
    breakdown: dict[str, int]


def _conv_macs(module: nn.Conv2d, inputs: tuple, output: torch.Tensor) -> int:
    kernel_h, kernel_w = module.kernel_size
    return output.numel() * (module.in_channels // module.groups) * kernel_h * kernel_w


def _linear_macs(module: nn.Linear, inputs: tuple, output: torch.Tensor) -> int:
    return output.numel() * module.in_features


def _attention_macs(module: Attention, inputs: tuple, output: torch.Tensor) -> int:
    batch, tokens, dim = inputs[0].shape
    return 2 * batch * tokens * tokens * dim  # q @ k^T and attn @ v, all heads together


def _separable_attention_macs(module: SeparableSelfAttention, inputs: tuple, output: torch.Tensor) -> int:
    return 2 * inputs[0].numel()  # keys weighted into the context vector, values scaled by it


def _batch_norm_ops(module: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    return 2 * inputs[0].numel()  # normalise, then scale and shift


def _layer_norm_ops(module: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    return 5 * inputs[0].numel()  # mean, variance, normalise, scale, shift


# Normalisation is counted per element as fvcore (and so the published figures) count it.
_COUNTERS = {
    nn.Conv2d: ("conv", _conv_macs),
    nn.Linear: ("linear", _linear_macs),
    Attention: ("attention", _attention_macs),
    nn.BatchNorm2d: ("norm", _batch_norm_ops),
    nn.LayerNorm: ("norm", _layer_norm_ops),
    SeparableSelfAttention: ("attention", _separable_attention_macs),
    nn.GroupNorm: ("norm", _layer_norm_ops),  # v2's GroupNorm(1): a LayerNorm over (d, P, N)
}


def _counter_of(module: nn.Module):
    """The counter of the module's class or of the nearest class it derives from (None if none)."""
    return next((_COUNTERS[cls] for cls in type(module).__mro__ if cls in _COUNTERS), None)


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(param.numel() for param in model.parameters())


def measure_complexity(model: nn.Module, height: int = 256, width: int = 256) -> Complexity:
    """Count multiply-adds of one forward pass of a (1, C, height, width) input.

    Convolutions, linear layers, the two attention matrix products (v1) and the two products of
    separable attention (v2) count their multiply-adds; BatchNorm counts 2 ops per element,
    LayerNorm and GroupNorm 5 and the global average pool 1,
    the fvcore convention behind the published figures.
    """
    breakdown = {"conv": 0, "linear": 0, "attention": 0, "norm": 0, "pool": 0}

    def make_hook(kind: str, counter):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            breakdown[kind] += counter(module, inputs, output)

        return hook

    handles = [
        module.register_forward_hook(make_hook(*counter))
        for module in model.modules()
        if (counter := _counter_of(module)) is not None
    ]
    backbone = getattr(model, "backbone", model)
    if task_of(model).pooled_head:  # the classifier pools the backbone's last output
        handles.append(backbone.register_forward_hook(make_hook("pool", lambda m, i, out: out[-1].numel())))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, getattr(backbone, "in_channels", 3), height, width, device=_device_of(model)))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return Complexity(count_parameters(model), sum(breakdown.values()), breakdown)


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


class TensorMemory(TorchDispatchMode):
    """Counts the tensor memory that operations inside the context allocate and is still alive, and its peak.

    What a step needs on any device, without the allocator's caching or its blocks (a CPU has no
    ``torch.cuda.max_memory_allocated``); every storage is counted once, however many views it has.

        with TensorMemory() as memory:
            model.loss(images, labels).backward()
        memory.peak  # bytes
    """

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        self._counted: weakref.WeakSet[torch.UntypedStorage] = weakref.WeakSet()

    def _free(self, size: int) -> None:
        self.live -= size

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        output = func(*args, **(kwargs or {}))
        for value in tree_leaves(output):
            if isinstance(value, torch.Tensor):
                storage = value.untyped_storage()
                if storage not in self._counted:
                    self._counted.add(storage)
                    self.live += storage.nbytes()
                    self.peak = max(self.peak, self.live)
                    weakref.finalize(storage, self._free, storage.nbytes())
        return output
