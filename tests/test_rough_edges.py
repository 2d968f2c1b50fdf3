"""The messages and behaviour of the command line's rough edges: exported files given as
checkpoints, file permissions, flops and list on configs."""

import os
import stat

import numpy as np
import pytest
import torch
from PIL import Image

from mobilevit.checkpoint import read_checkpoint
from mobilevit.cli import main
from mobilevit.download import download_checkpoint
from mobilevit.export import TorchScriptRunner, export_model, exported_format
from mobilevit.models import build_classifier

NAME = "mobilevit-xxsmall_3rdparty_in1k"
TINY_ARCH = [["mobilenetv2", 8, 1, 1, 2], ["mobilevit", 16, 2, 16, 32, 1, 2]]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("edges")
    torch.manual_seed(0)
    model = build_classifier(TINY_ARCH, num_classes=3).eval()
    export_model(model, folder / "tiny.pt", "torchscript", 32, 32)
    (folder / "tiny.onnx").write_bytes(b"not read: the name says ONNX")
    torch.save({"meta": {}, "state_dict": model.state_dict()}, folder / "tiny.pth")
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(folder / "image.png")
    return folder, model


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield 0o644
    os.umask(previous)


def test_an_exported_file_without_backend_names_the_backend(files, capsys):
    folder, _ = files
    assert exported_format(folder / "tiny.pt") == "torchscript" and exported_format(folder / "tiny.pth") is None
    for name, backend in (("tiny.onnx", "onnxruntime"), ("tiny.pt", "torchscript")):
        exported = str(folder / name)
        assert main(["predict", str(folder / "image.png"), "--model", NAME, "--checkpoint", exported]) == 2
        err = capsys.readouterr().err
        kind = exported_format(exported)
        assert f"is an exported {kind} model, not a checkpoint: predict runs it with --backend {backend}" in err
        assert "Traceback" not in err and err.count("\n") == 1
        assert main(["predict", str(folder / "image.png"), "--checkpoint", exported]) == 2
        assert f"--backend {backend}" in capsys.readouterr().err
        assert main(["export", exported]) == 2
        assert f"{exported} is an exported" in capsys.readouterr().err


def test_the_torchscript_backend_runs_an_export_and_refuses_other_files(files, capsys):
    folder, model = files
    image = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(TorchScriptRunner(folder / "tiny.pt")(image), model(image))
    common = ["predict", str(folder / "image.png"), "--backend", "torchscript"]
    assert main([*common, "--checkpoint", str(folder / "tiny.pth"), "--model", NAME]) == 2
    assert "--backend torchscript runs an exported torchscript model: pass --checkpoint FILE.pt" in (
        capsys.readouterr().err
    )
    assert main([*common, "--checkpoint", str(folder / "tiny.pt")]) == 2
    assert "holds no preprocessing or class names: pass --model" in capsys.readouterr().err
    with pytest.raises(ValueError, match="cannot load TorchScript model .*tiny.pth"):
        TorchScriptRunner(folder / "tiny.pth")


def test_convert_writes_files_under_the_umask(tmp_path, umask_022):
    model = build_classifier("xx_small")
    torch.save({"meta": {}, "state_dict": model.state_dict()}, tmp_path / "xxs.pth")
    assert main(["convert", str(tmp_path / "xxs.pth"), str(tmp_path / "xxs.safetensors")]) == 0
    assert stat.S_IMODE((tmp_path / "xxs.safetensors").stat().st_mode) == umask_022
    assert read_checkpoint(tmp_path / "xxs.safetensors").metadata["arch"] == "xx_small"


def test_the_download_cache_follows_the_umask(files, tmp_path, monkeypatch, umask_022, capfd):
    from test_checkpoint import CountingServer

    folder, _ = files
    monkeypatch.setenv("MOBILEVIT_HOME", str(tmp_path / "home"))
    server = CountingServer(folder)
    try:
        cached = download_checkpoint(f"{server.url}/tiny.pth")
    finally:
        server.close()
    assert stat.S_IMODE(cached.stat().st_mode) == umask_022
    assert stat.S_IMODE(cached.parent.stat().st_mode) == 0o755
    err = capfd.readouterr().err
    assert f"downloading {server.url}/tiny.pth to {cached}" in err and "\r" not in err  # not a terminal: no bar


def test_flops_of_a_config_file(capsys):
    assert main(["flops", "configs/mobilevit/mobilevit-xxsmall_8xb128_in1k.py"]) == 0
    out = capsys.readouterr().out
    assert "mobilevit-xxsmall_8xb128_in1k.py at 256x256" in out and "1.27" in out  # params (M), no published column
    assert main(["flops", "configs/mobilevit/mobilevit-tiny_1xb64_digits.py", "--shape", "64", "48"]) == 0
    assert "at 64x48" in capsys.readouterr().out


def test_list_configs(capsys):
    assert main(["list", "--configs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["config", "arch", "classes", "data", "root"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert rows["configs/mobilevit/mobilevit-small_8xb128_in1k.py"] == ["small", "1000", "data/imagenet"]
    assert "configs/mobilevit/mobilevit-tiny_1xb64_digits.py" in rows
    assert not any("_base_" in path for path in rows)
