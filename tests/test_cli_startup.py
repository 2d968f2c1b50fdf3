"""The command line starts without torch: its --help, --version and each command's --help import
neither torch nor torchvision (about 4 s on 2 cores), and the names it offers are the library's."""

import json
import subprocess
import sys

import pytest

import mobilevit
from mobilevit import names
from mobilevit.cli import build_parser

# Runs CODE in a fresh interpreter and prints which heavy modules it imported, as JSON.
IMPORTED = """
import contextlib, io, json, sys
{code}
print(json.dumps([name for name in ("torch", "torchvision", "torch._dynamo") if name in sys.modules]))
"""
COMMANDS = ("list", "flops", "predict", "convert", "train", "test", "export", "plot")


def imported_after(code: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", IMPORTED.format(code=code)], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.splitlines()[-1])


def test_importing_the_command_line_imports_neither_torch_nor_torchvision():
    assert imported_after("import mobilevit.cli") == []


def test_importing_the_package_imports_no_torch():
    assert imported_after("import mobilevit") == []


@pytest.mark.parametrize("arguments", [["--version"], ["--help"], *[[command, "--help"] for command in COMMANDS]])
def test_help_and_version_run_without_torch(arguments):
    code = f"""
from mobilevit.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    main({arguments!r})
"""
    assert imported_after(code) == []


def test_listing_the_zoo_and_predicting_with_a_classifier_import_no_torchvision(tmp_path):
    """torchvision (2 s, with torch._dynamo) is imported by what uses it: segmenters, detectors,
    dense data and export; not by `mobilevit list`, nor by a classifier's `predict`."""
    from PIL import Image

    from mobilevit.checkpoint import save_checkpoint
    from mobilevit.models import build_classifier

    checkpoint = save_checkpoint(tmp_path / "model.safetensors", build_classifier("xx_small").state_dict(), "xx_small")
    Image.new("RGB", (40, 30), (200, 30, 60)).save(tmp_path / "image.png")
    code = f"""
from mobilevit.cli import main
with contextlib.redirect_stdout(io.StringIO()) as printed:
    assert main(["list"]) == 0
    assert main(["predict", {str(tmp_path / "image.png")!r}, "--checkpoint", {str(checkpoint)!r}]) == 0
assert "image.png" in printed.getvalue()
"""
    assert imported_after(code) == ["torch"]


def test_version_prints_the_package_version():
    result = subprocess.run([sys.executable, "-m", "mobilevit.cli", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == f"mobilevit {mobilevit.__version__}"


def test_the_offered_names_are_the_library_names():
    from mobilevit import export, models
    from mobilevit.convert_out import TARGETS

    assert names.ARCH_NAMES == models.ARCH_NAMES
    assert names.PEER_LAYOUTS == tuple(TARGETS)
    assert export.FORMATS is names.FORMATS and set(names.RUNTIME_FORMATS.values()) <= set(names.FORMATS)
    assert {name: export_format for name, (export_format, _) in export.RUNTIMES.items()} == names.RUNTIME_FORMATS
    parser = build_parser()
    for arch in models.ARCH_NAMES:
        assert parser.parse_args(["convert", "SRC", "DST", "--arch", arch]).arch == arch


def test_the_public_names_import_on_first_use():
    from mobilevit import init_model, list_models

    assert init_model is mobilevit.apis.init_model and list_models is mobilevit.zoo.list_models
    assert all(getattr(mobilevit, name) is not None for name in mobilevit.__all__)
    assert set(mobilevit.__all__) <= set(dir(mobilevit))
    assert mobilevit.imagenet_classes[0] == "tench"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mobilevit.nope  # noqa: B018
