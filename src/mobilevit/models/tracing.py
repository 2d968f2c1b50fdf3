"""torch.fx tracing: the modules a traced graph keeps whole, and a tracer that keeps them so.

Some modules decide at run time what plain tracing would freeze (timm marks its MobileViT block the
same way): the MobileViT block resizes sides that do not divide its patch, and ``Swish`` and
``BatchNorm2d`` work in place only where no gradient is recorded. A traced graph calls these leaves
as they are, so it serves every input size and keeps the in-place inference paths.
"""

from __future__ import annotations

from typing import Any, TypeVar

import torch
from torch import nn

ModuleType = TypeVar("ModuleType", bound=type[nn.Module])

_LEAF_MODULES: list[type[nn.Module]] = []


def register_leaf_module(module: ModuleType) -> ModuleType:
    """Class decorator: :func:`symbolic_trace` calls this module whole (timm's ``register_notrace_module``)."""
    _LEAF_MODULES.append(module)
    return module


def leaf_modules() -> tuple[type[nn.Module], ...]:
    """The module classes a traced graph keeps whole; pass them to other tracers, e.g. torchvision's
    ``create_feature_extractor(model, nodes, tracer_kwargs={"leaf_modules": list(leaf_modules())})``."""
    return tuple(_LEAF_MODULES)


class Tracer(torch.fx.Tracer):
    """``torch.fx.Tracer`` that keeps the :func:`leaf_modules` whole."""

    def is_leaf_module(self, module: nn.Module, qualified_name: str) -> bool:
        return isinstance(module, tuple(_LEAF_MODULES)) or super().is_leaf_module(module, qualified_name)


def symbolic_trace(model: nn.Module, concrete_args: dict[str, Any] | None = None) -> torch.fx.GraphModule:
    """``torch.fx.symbolic_trace`` with the :func:`leaf_modules` kept whole; the graph gives the
    model's outputs for any input size."""
    tracer = Tracer()
    graph = tracer.trace(model, concrete_args)
    return torch.fx.GraphModule(tracer.root, graph, type(model).__name__)
