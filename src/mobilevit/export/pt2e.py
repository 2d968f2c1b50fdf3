"""int8 in PyTorch itself: PT2E post-training quantization with torchao's X86 inductor quantizer,
then ``torch.compile`` into int8 kernels (oneDNN, AVX512-VNNI where the CPU has it)."""

from __future__ import annotations

import copy

import torch

from .runtime import import_runtime

MAX_BATCH = 1024


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
    (``fold_quantize=False`` keeps the weights' quantize steps in the graph, for converters that read them)."""
    pt2e = import_runtime("torchao.quantization.pt2e.quantize_pt2e", purpose)
    utils = import_runtime("torchao.quantization.pt2e", purpose)
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    example = calibration[[0, -1]].float()  # two images: a batch of one would fix the batch size
    program = torch.export.export(model, (example,), dynamic_shapes=({0: batch},)).module()
    prepared = pt2e.prepare_pt2e(utils.move_exported_model_to_eval(program), quantizer)
    for chunk in calibration.float().split(16):
        prepared(chunk)
    return utils.move_exported_model_to_eval(pt2e.convert_pt2e(prepared, fold_quantize=fold_quantize))


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
