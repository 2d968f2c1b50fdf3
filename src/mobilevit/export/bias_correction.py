"""Bias correction after int8 post-training quantization: each quantized convolution's and linear
layer's bias is shifted so that its output's per-channel mean over the calibration images equals
the float model's (the "empirical bias correction" of Nagel et al., 2019, which NNCF also runs).

Rounding weights and activations to int8 moves the mean of every layer's output a little, and the
shifts add up through the network; on the demo model they cost most of the int8 accuracy loss.
The layers are corrected in the order the graph computes them, in one pass over the calibration
batch, so each layer's correction sees its inputs already corrected.
"""

from __future__ import annotations

from collections import defaultdict

import torch
from torch import fx, nn

# The pass holds every image's maps of the layer it is at: at most this many pixels of images,
# 128 images of 256x256 (about 2 GB for XXS), which measure each channel's mean well enough.
PIXEL_BUDGET = 128 * 256 * 256
LAYERS = {torch.ops.aten.conv2d.default: nn.Conv2d, torch.ops.aten.linear.default: nn.Linear}


def correct_biases(
    quantized: fx.GraphModule, model: nn.Module, calibration: torch.Tensor, max_images: int | None = None
) -> int:
    """Shift the biases of ``quantized`` (a converted PT2E graph of ``model``) so that each layer's
    output mean per channel on ``calibration`` matches ``model``'s; returns how many were shifted.

    A layer takes part when it has a bias and its graph node names the ``model`` submodule it came
    from; the corrected biases are new tensors, so ``model``'s own are left as they were. Beyond
    :data:`PIXEL_BUDGET` or ``max_images`` (the graph's largest batch), an evenly spread subset is used.
    """
    count = max(1, PIXEL_BUDGET // calibration[0, 0].numel())
    calibration = _spread_subset(calibration, count if max_images is None else min(count, max_images))
    nodes = {node: path for node, path in _layer_nodes(quantized).items() if _traced_from(model, path, node)}
    targets = _float_means(model, set(nodes.values()), calibration)
    corrector = _Corrector(quantized, {node: targets[path] for node, path in nodes.items()})
    with torch.no_grad():
        corrector.run(calibration)
    return len(nodes)


def _spread_subset(images: torch.Tensor, count: int) -> torch.Tensor:
    """At most ``count`` of ``images``, evenly spread over the batch (which is in class order)."""
    if len(images) <= count:
        return images
    return images[torch.linspace(0, len(images) - 1, count).round().long()]


def _layer_nodes(graph_module: fx.GraphModule) -> dict[fx.Node, str]:
    """Each convolution or linear node with a bias, and the path of the module it was traced from."""
    found = {}
    for node in graph_module.graph.nodes:
        if node.op != "call_function" or node.target not in LAYERS or len(node.args) < 3:
            continue
        bias, paths = node.args[2], traced_from(node)
        if isinstance(bias, fx.Node) and bias.op == "get_attr" and paths:
            found[node] = paths[-1]
    return found


def traced_from(node: fx.Node) -> list[str]:
    """The paths of the modules an exported graph's node was traced inside, outermost first."""
    return [path for path, _ in node.meta.get("nn_module_stack", {}).values()]


def _traced_from(model: nn.Module, path: str, node: fx.Node) -> bool:
    """Whether ``path`` names a layer of ``model`` of the node's kind, whose output is the node's."""
    try:
        return isinstance(model.get_submodule(path), LAYERS[node.target])
    except AttributeError:
        return False


def _channel_mean(output: torch.Tensor) -> torch.Tensor:
    """The mean of each output channel: dimension 1 of a convolution's map, the last of a linear layer's."""
    return output.mean(dim=(0, 2, 3)) if output.dim() == 4 else output.reshape(-1, output.shape[-1]).mean(0)


def _float_means(model: nn.Module, paths: set[str], calibration: torch.Tensor) -> dict[str, torch.Tensor]:
    """The per-channel output mean of each named layer of ``model`` over the calibration images."""
    sums: dict[str, torch.Tensor] = defaultdict(lambda: torch.zeros(()))
    calls: dict[str, int] = defaultdict(int)

    def record(path: str):
        def hook(module, inputs, output):
            sums[path] = sums[path] + _channel_mean(output) * len(output)
            calls[path] += len(output)

        return hook

    handles = [model.get_submodule(path).register_forward_hook(record(path)) for path in paths]
    try:
        with torch.no_grad():
            for chunk in calibration.split(16):
                model(chunk)
    finally:
        for handle in handles:
            handle.remove()
    return {path: sums[path] / calls[path] for path in paths}


class _Corrector(fx.Interpreter):
    """Runs the graph on the whole calibration batch node by node; at each corrected layer it moves
    the bias by the gap between the float and the quantized output means, and passes the corrected
    output on, so the layers after it are measured as they will compute."""

    def __init__(self, graph_module: fx.GraphModule, targets: dict[fx.Node, torch.Tensor]) -> None:
        super().__init__(graph_module)
        self.targets = targets

    def run_node(self, node: fx.Node):
        output = super().run_node(node)
        if node not in self.targets:
            return output
        shift = self.targets[node] - _channel_mean(output)
        owner_path, _, name = node.args[2].target.rpartition(".")
        owner = self.module.get_submodule(owner_path)
        bias = getattr(owner, name)
        shifted = bias.detach() + shift  # a new tensor: the float model shares the graph's originals
        setattr(owner, name, nn.Parameter(shifted, requires_grad=False) if isinstance(bias, nn.Parameter) else shifted)
        return output + (shift.view(1, -1, 1, 1) if output.dim() == 4 else shift)
