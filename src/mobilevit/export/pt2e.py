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
    pt2e = import_runtime("torchao.quantization.pt2e.quantize_pt2e", "PT2E int8 quantization")
    fused = copy.deepcopy(model).cpu().float().fuse()
    quantizer = xiq.X86InductorQuantizer().set_global(xiq.get_default_x86_inductor_quantization_config())
    example = calibration[:2].float()
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    with torch.no_grad():
        program = torch.export.export(fused, (example,), dynamic_shapes=({0: batch},)).module()
        prepared = pt2e.prepare_pt2e(program, quantizer)
        for chunk in calibration.float().split(16):
            prepared(chunk)
        converted = pt2e.convert_pt2e(prepared)
    return FrozenCompiled(converted) if compile else converted


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
