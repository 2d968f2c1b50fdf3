"""A download that fails says how to pass the file instead, in the words of where the URL was given."""

import socket

import pytest

import mobilevit
from mobilevit.cli import main as cli
from mobilevit.download import DownloadError
from mobilevit.engine.finetune import load_pretrained
from mobilevit.models import build_classifier

FILE = "mobilevit-xxsmall_3rdparty_in1k_20221018-77835605.pth"


@pytest.fixture
def unreachable(tmp_path, monkeypatch):
    """A URL on 127.0.0.1 where nothing listens, and an empty cache."""
    monkeypatch.setenv("MOBILEVIT_HOME", str(tmp_path / "cache"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/{FILE}"


def test_python_calls_name_their_argument(unreachable):
    with pytest.raises(DownloadError, match=rf"pass its local path instead of the URL \(/path/to/{FILE}\), or copy"):
        mobilevit.init_model("mobilevit-xxsmall_3rdparty_in1k", unreachable)
    with pytest.raises(DownloadError, match=rf"pass pretrained='/path/to/{FILE}', or copy"):
        mobilevit.get_model("mobilevit-xxsmall_3rdparty_in1k", pretrained=unreachable)
    with pytest.raises(DownloadError, match=rf"set model.pretrained=/path/to/{FILE}, or copy"):
        load_pretrained(build_classifier("xx_small"), unreachable)


@pytest.mark.parametrize(
    ("arguments", "advice"),
    [
        (["predict", "image.png", "--model", "mobilevit-xxsmall_3rdparty_in1k", "--checkpoint"], "pass --checkpoint"),
        (["convert"], "pass {path} as SRC"),
    ],
)
def test_each_command_names_its_own_option(unreachable, tmp_path, capsys, arguments, advice):
    arguments = [*arguments, unreachable, *([str(tmp_path / "out.safetensors")] if arguments == ["convert"] else [])]
    assert cli(arguments) == 2
    error = capsys.readouterr().err
    expected = advice.format(path=f"/path/to/{FILE}") if "{path}" in advice else f"{advice} /path/to/{FILE}"
    assert f"{expected}, or copy it to" in error and "--checkpoint" not in error.replace(expected, "")
