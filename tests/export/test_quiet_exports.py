"""Exports print only what the user needs: no deprecation notes of torch.jit, no CUDA probe."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import torch

from mobilevit.export.torchscript import TorchScriptRunner, export_torchscript
from mobilevit.models import build_classifier

TINY = [["mobilenetv2", 8, 1, 1, 2], ["mobilevit", 16, 2, 16, 32, 1, 2]]
SOURCE = Path(__file__).resolve().parents[2] / "src"


def test_a_torchscript_export_warns_of_nothing(tmp_path):
    model = build_classifier(TINY, num_classes=3).fuse()
    for module in model.modules():  # as export_model sets a trace up to serve every size
        if hasattr(module, "always_resize"):
            module.always_resize = True
    example = torch.rand(1, 3, 32, 32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch.jit's "is deprecated" notes were three FutureWarnings
        export_torchscript(model, example, tmp_path / "model.pt")
    torch.testing.assert_close(TorchScriptRunner(tmp_path / "model.pt")(example), model(example))


def test_the_cuda_probe_nncf_triggers_stays_quiet():
    environment = {**os.environ, "PYTHONPATH": str(SOURCE), "CUDA_HOME": sys.prefix}  # a CUDA_HOME without CUDA
    quiet = "from mobilevit.export.openvino import _import_cpp_extension_quietly as i; i()"
    result = subprocess.run([sys.executable, "-c", quiet], env=environment, capture_output=True, text=True)
    assert result.returncode == 0 and "CUDA" not in result.stderr, result.stderr
    if not torch.cuda.is_available():  # where the probe speaks at all, it would have spoken here
        loud = subprocess.run(
            [sys.executable, "-c", "import torch.utils.cpp_extension"], env=environment, capture_output=True, text=True
        )
        assert "No CUDA runtime is found" in loud.stderr
