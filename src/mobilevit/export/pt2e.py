"""int8 in PyTorch itself: PT2E post-training quantization with torchao's X86 inductor quantizer,
then ``torch.compile`` into int8 kernels (oneDNN, AVX512-VNNI where the CPU has it)."""

from __future__ import annotations

import copy

import torch

from .bias_correction import correct_biases, traced_from
from .runtime import import_runtime

MAX_BATCH = 1024
# The stem and the first stage, at half the input resolution, are left float32 by the mobile int8
# exports: in int8 they cost most of what int8 loses (on the demo, 98.2 % -> 99.4 % of held-out
# images keep float32's top class with them float) for little of its speed (their maps are large,
# their convolutions few and narrow).
FULL_RESOLUTION_MODULES = ("backbone.stem", "backbone.layers.0")


def quantize_pt2e(model: torch.nn.Module, calibration: torch.Tensor, compile: bool = True) -> torch.nn.Module:
    """An int8 copy of ``model`` for x86 CPUs: per-channel int8 weights, activations calibrated on
    ``calibration`` (preprocessed images, see :func:`~mobilevit.export.calibration_images`).

    The result takes float32 batches of any size at the calibration images' height and width.
    Compiled (the default), its first call at each batch size takes tens of seconds; uncompiled it
    is torchao's reference model, which computes with the same rounding but in float32 (slow).
    """
    xiq = import_runtime("torchao.quantization.pt2e.quantizer.x86_inductor_quantizer", "PT2E int8 quantization")
    fused = copy.deepcopy(model).cpu().float().fuse()
    quantizer = xiq.X86InductorQuantizer().set_global(xiq.get_default_x86_inductor_quantization_config())
    with torch.no_grad():
        converted = calibrated(fused, quantizer, calibration, "PT2E int8 quantization")
    return FrozenCompiled(converted) if compile else converted


def calibrated(
    model: torch.nn.Module, quantizer, calibration: torch.Tensor, purpose: str, fold_quantize: bool = True
) -> torch.nn.Module:
    """torchao's PT2E post-training quantization of ``model`` as ``quantizer`` annotates it: the
    graph exported with a free batch size, observed on the ``calibration`` images, converted
    (``fold_quantize=False`` keeps the weights' quantize steps in the graph, for converters that read them),
    then bias-corrected on the same images (:mod:`~mobilevit.export.bias_correction`)."""
    pt2e = import_runtime("torchao.quantization.pt2e.quantize_pt2e", purpose)
    utils = import_runtime("torchao.quantization.pt2e", purpose)
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    example = calibration[[0, -1]].float()  # two images: a batch of one would fix the batch size
    _remove_dropouts(model)
    program = torch.export.export(model, (example,), dynamic_shapes=({0: batch},)).module()
    prepared = pt2e.prepare_pt2e(utils.move_exported_model_to_eval(program), quantizer)
    calibration = calibration.float()
    for chunk in calibration.split(16):
        prepared(chunk)
    converted = utils.move_exported_model_to_eval(pt2e.convert_pt2e(prepared, fold_quantize=fold_quantize))
    correct_biases(converted, model, calibration, max_images=MAX_BATCH)
    return converted


def _remove_dropouts(model: torch.nn.Module) -> None:
    """Replace ``model``'s dropout layers (identities in evaluation) by ``nn.Identity``, in place.
    torchao's ``move_exported_model_to_eval`` gives an exported dropout the metadata of its
    one-element example, and XNNPACK's quantizer then fails on a convolution it feeds (v2's
    feed-forward ``fc2``: "tuple index out of range")."""
    for module in list(model.modules()):
        for name, child in module.named_children():
            if isinstance(child, torch.nn.modules.dropout._DropoutNd):
                setattr(module, name, torch.nn.Identity())


class FloatModules:
    """A PT2E quantizer that annotates as ``quantizer`` does, except the operations traced from the
    modules named in ``modules`` (paths such as ``"backbone.stem"``) and from those inside them,
    which stay float32 with a quantize step where their outputs meet int8 operations."""

    def __init__(self, quantizer, modules: tuple[str, ...]) -> None:
        self.quantizer = quantizer
        self.modules = modules

    def transform_for_annotation(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        return self.quantizer.transform_for_annotation(model)

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        self.quantizer.annotate(model)
        for node in model.graph.nodes:
            if any(self._kept_float(path) for path in traced_from(node)):
                node.meta.pop("quantization_annotation", None)
        return model

    def validate(self, model: torch.fx.GraphModule) -> None:
        self.quantizer.validate(model)

    def prepare_obs_or_fq_callback(self, model, edge_or_node_to_obs_or_fq) -> None:
        self.quantizer.prepare_obs_or_fq_callback(model, edge_or_node_to_obs_or_fq)

    def _kept_float(self, path: str) -> bool:
        return any(path == module or path.startswith(module + ".") for module in self.modules)


class FrozenCompiled(torch.nn.Module):
    """``torch.compile`` of a quantized graph with inductor's freezing on for each compilation
    (it folds the int8 weights into the constants the int8 kernels need) and off again after,
    so that the process's other compilations are left as they were."""

    def __init__(self, module: torch.nn.Module) -> None:
        super().__init__()
        self.compiled = torch.compile(module, dynamic=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        with torch._inductor.config.patch(freezing=True), torch.no_grad():
            return self.compiled(images)
