"""``hf-hub:`` names against a stand-in Hub on 127.0.0.1.

The repositories are written by the reference libraries themselves (transformers' and timm's
save functions) from models with deterministic random weights; the server answers the requests
huggingface_hub makes (HEAD then GET of ``/{repo}/resolve/{revision}/{file}``, with the
``X-Repo-Commit`` and ``ETag`` headers, and ``X-Error-Code`` on a 404). huggingface_hub reads
``HF_ENDPOINT``, ``HF_HOME`` and ``HF_HUB_OFFLINE`` when it is imported, so each call runs in a
fresh Python process with those set, as a user's would.
"""

import hashlib
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

import mobilevit
from arch_table import PUBLISHED
from mobilevit.convert import CheckpointError
from mobilevit.data.transforms import Preprocessing
from mobilevit.hub import huggingface_preprocessing, is_hub_name, parse_hub_name, timm_preprocessing
from reference_weights import deterministic_input, deterministic_state_dict

transformers = pytest.importorskip("transformers")
timm = pytest.importorskip("timm")
pytest.importorskip("huggingface_hub")

TOLERANCE = 1e-4
COMMIT = "0123456789abcdef0123456789abcdef01234567"
HUGGINGFACE_REPO = "apple/mobilevit-xx-small"
SEGMENTATION_REPO = "apple/deeplabv3-mobilevit-xx-small"
TIMM_REPO = "timm/mobilevit_xxs.cvnets_in1k"
CLASS_NAMES = ["tench", "goldfish", "great white shark", "tiger shark", "hammerhead"]
SOURCE_ROOT = Path(mobilevit.__file__).resolve().parents[1]

# Run in a fresh process: load each name given, write its logits on the input, print one JSON line.
# A prefix says how the name is taken: get_model's pretrained=, a config's model.pretrained (what
# training loads), `mobilevit convert` (then the converted file loaded), `mobilevit predict --checkpoint`.
CHILD = """
import contextlib, io, json, sys, numpy, torch
from PIL import Image
from mobilevit.apis import init_model
from mobilevit.cli import main
from mobilevit.engine.finetune import load_pretrained
from mobilevit.models import build_classifier
from mobilevit.zoo import get_model
names, image, out = json.loads(sys.argv[1]), torch.load(sys.argv[2]), sys.argv[3]
results = {}
for index, entry in enumerate(names):
    how, _, name = entry.rpartition(" ")
    try:
        if how == "get_model":
            model = get_model("mobilevit-xxsmall_3rdparty_in1k", pretrained=name, num_classes=5).eval()
        elif how == "pretrained":
            model = build_classifier("xx_small", num_classes=5)
            load_pretrained(model, name)
            model.eval()
        elif how == "convert":
            assert main(["convert", name, f"{out}/{index}.safetensors"]) == 0
            model = init_model(f"{out}/{index}.safetensors")
        elif how == "predict":
            Image.fromarray((numpy.arange(300 * 400 * 3) % 251).astype(numpy.uint8).reshape(300, 400, 3)).save(f"{out}/a.png")
            with contextlib.redirect_stdout(io.StringIO()) as printed:
                code = main(["predict", f"{out}/a.png", "--checkpoint", name, "--json"])
            results[entry] = {"code": code, "printed": json.loads(printed.getvalue())}
            continue
        else:
            model = init_model(name)
        with torch.no_grad():
            logits = model.forward_low_res(image) if hasattr(model, "forward_low_res") else model(image)
        torch.save(logits, f"{out}/{index}.pt")
        preprocessing = model.preprocessing.__dict__ if model.preprocessing else None
        results[entry] = {"logits": True, "preprocessing": preprocessing, "class_names": list(model.class_names or ())}
    except Exception as error:
        results[entry] = {"error": f"{type(error).__name__}: {error}"}
print(json.dumps(results))
"""


def hub_handler(repos: dict[str, dict[str, bytes]], requests: list[str]) -> type:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self.answer(body=False)

        def do_GET(self) -> None:
            self.answer(body=True)

        def log_message(self, *args) -> None:
            pass

        def answer(self, body: bool) -> None:
            requests.append(f"{self.command} {self.path}")
            match = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", self.path.split("?")[0])
            if match is None or match[1] not in repos:
                return self.fail(401, "RepoNotFound")  # the Hub answers 401 for a missing repo
            repo, revision, filename = match.groups()
            if revision not in ("main", COMMIT):
                return self.fail(404, "RevisionNotFound")
            if filename not in repos[repo]:
                return self.fail(404, "EntryNotFound")
            data = repos[repo][filename]
            self.send_response(200)
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)

        def fail(self, status: int, code: str) -> None:
            self.send_response(status)
            self.send_header("X-Error-Code", code)
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


def as_preprocessing(fields: dict) -> Preprocessing:
    """A Preprocessing from its fields as the child printed them (JSON lists for tuples)."""
    return Preprocessing(**{**fields, "mean": tuple(fields["mean"]), "std": tuple(fields["std"])})


def config_of(folder: Path) -> bytes:
    return (folder / "config.json").read_bytes()


def folder_files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """The repositories' files, written by transformers and timm, and the reference models."""
    root = tmp_path_factory.mktemp("repos")
    size = PUBLISHED["xx_small"].huggingface
    labels = dict(enumerate(CLASS_NAMES))
    classifier = transformers.MobileViTForImageClassification(
        transformers.MobileViTConfig(id2label=labels, label2id={v: k for k, v in labels.items()}, **size)
    ).eval()
    classifier.load_state_dict(deterministic_state_dict(classifier.state_dict()))
    classifier.save_pretrained(root / "hf")
    processor = transformers.MobileViTImageProcessor(
        size={"shortest_edge": 288}, crop_size={"height": 256, "width": 256}, resample=2
    )
    processor.save_pretrained(root / "hf")

    segmenter = transformers.MobileViTForSemanticSegmentation(
        transformers.MobileViTConfig(num_labels=21, output_stride=16, **size)
    ).eval()
    segmenter.load_state_dict(deterministic_state_dict(segmenter.state_dict()))
    segmenter.save_pretrained(root / "seg")
    (root / "seg" / "model.safetensors").unlink()  # served as the published repos are: pytorch_model.bin
    torch.save(segmenter.state_dict(), root / "seg" / "pytorch_model.bin")
    transformers.MobileViTImageProcessor(
        size={"shortest_edge": 512}, crop_size={"height": 512, "width": 512}, resample=2
    ).save_pretrained(root / "seg")

    timm_model = timm.create_model("mobilevit_xxs", num_classes=5).eval()
    timm_model.load_state_dict(deterministic_state_dict(timm_model.state_dict()))
    timm.models.save_for_hf(
        timm_model, root / "timm", model_config={"label_names": CLASS_NAMES}, safe_serialization=True
    )

    transformers.ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2).save_pretrained(root / "vit")
    repos = {
        HUGGINGFACE_REPO: folder_files(root / "hf"),
        SEGMENTATION_REPO: folder_files(root / "seg"),
        TIMM_REPO: folder_files(root / "timm"),
        "google/vit-tiny": folder_files(root / "vit"),
        "apple/no-weights": {"config.json": config_of(root / "hf")},
        "apple/no-config": {"model.safetensors": (root / "hf" / "model.safetensors").read_bytes()},
        "timm/resnet18.a1_in1k": {
            "config.json": json.dumps({"architecture": "resnet18", "pretrained_cfg": {}}).encode()
        },
    }
    image = deterministic_input(batch=1, height=256, width=256)
    torch.save(image, root / "image.pt")
    with torch.no_grad():
        expected = {
            f"hf-hub:{HUGGINGFACE_REPO}": classifier(pixel_values=image).logits,
            f"hf-hub:{SEGMENTATION_REPO}": segmenter(pixel_values=image).logits,
            f"hf-hub:{TIMM_REPO}": timm_model(image.flip(1)),  # timm takes RGB, ours BGR
        }
    return {"repos": repos, "image": root / "image.pt", "expected": expected}


LOADED = [f"hf-hub:{HUGGINGFACE_REPO}", f"hf-hub:{TIMM_REPO}", f"hf-hub:{SEGMENTATION_REPO}@main"]
TAKEN = [f"{how} hf-hub:{HUGGINGFACE_REPO}" for how in ("get_model", "pretrained", "convert", "predict")]
FAILURES = {
    "hf-hub:apple/no-such-repo": "no repository apple/no-such-repo on the Hub at http://127.0.0.1",
    "hf-hub:google/vit-tiny": "holds a 'vit' model (config.json model_type), which this mobilevit does not read",
    "hf-hub:timm/resnet18.a1_in1k": "holds a 'resnet18' model (config.json architecture), which this mobilevit does not read",
    f"hf-hub:{HUGGINGFACE_REPO}@v9": f"{HUGGINGFACE_REPO} has no revision 'v9'",
    "hf-hub:apple/no-weights": "hf-hub:apple/no-weights has none of the weights files model.safetensors, pytorch_model.bin",
    "hf-hub:apple/no-config": "hf-hub:apple/no-config has no file config.json",
}
NEVER_DOWNLOADED = "hf-hub:apple/never-downloaded"


@pytest.fixture(scope="module")
def runs(references, tmp_path_factory):
    """Three fresh processes: online against the stand-in Hub; with the server stopped and
    HF_HUB_OFFLINE=1 on the same cache; with the server stopped, online, on an empty cache."""
    requests: list[str] = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), hub_handler(references["repos"], requests))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_port}"
    root = tmp_path_factory.mktemp("runs")
    try:
        online = load_in_child([*LOADED, *TAKEN, *FAILURES], references, endpoint, root / "home", root / "online")
    finally:
        server.shutdown()
        server.server_close()
    offline = load_in_child([*LOADED, NEVER_DOWNLOADED], references, endpoint, root / "home", root / "offline", True)
    down = load_in_child(LOADED[:1], references, endpoint, root / "empty-home", root / "down")
    return {"online": online, "offline": offline, "down": down, "requests": requests, "endpoint": endpoint}


def load_in_child(names, references, endpoint, home, out, offline=False):
    """Run :data:`CHILD` with the Hub's variables set; its results and the logits it wrote to ``out``."""
    out.mkdir(parents=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "HUGGINGFACE_"))}
    env.update(
        HF_ENDPOINT=endpoint,
        HF_HOME=str(home),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        PYTHONPATH=os.pathsep.join([str(SOURCE_ROOT), env.get("PYTHONPATH", "")]),
    )
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    arguments = [json.dumps(names), str(references["image"]), str(out)]
    finished = subprocess.run(
        [sys.executable, "-c", CHILD, *arguments], env=env, capture_output=True, text=True, timeout=300
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    results = json.loads(finished.stdout.strip().splitlines()[-1])
    for index, name in enumerate(names):
        if "logits" in results[name]:
            results[name]["logits"] = torch.load(out / f"{index}.pt")
    return results


@pytest.mark.slow
@pytest.mark.parametrize("run", ["online", "offline"])
def test_hub_repos_give_the_reference_logits_labels_and_preprocessing(references, runs, run):
    """Online, then with the server stopped and HF_HUB_OFFLINE=1 from huggingface_hub's cache."""
    results = runs[run]
    for name in LOADED:
        assert "error" not in results[name], results[name]
        expected = references["expected"][name.split("@")[0]]
        assert expected.std() > 0.1  # logits that depend on the input: the comparison means something
        torch.testing.assert_close(results[name]["logits"], expected, atol=TOLERANCE, rtol=0)
    hugging_face, timm_repo, segmentation = (results[name] for name in LOADED)
    assert hugging_face["class_names"] == timm_repo["class_names"] == CLASS_NAMES
    assert as_preprocessing(hugging_face["preprocessing"]) == Preprocessing(resize_short=288, crop_size=256)
    assert as_preprocessing(segmentation["preprocessing"]) == Preprocessing(resize_short=512, crop_size=512)
    # timm's mobilevit pretrained_cfg: crop_pct 0.9, bicubic, mean 0 and std 1 on [0, 1]
    assert as_preprocessing(timm_repo["preprocessing"]) == Preprocessing(
        resize_short=284, crop_size=256, interpolation="bicubic"
    )


@pytest.mark.slow
def test_every_place_that_takes_weights_takes_a_hub_name(references, runs):
    """get_model(pretrained=), model.pretrained, convert and predict --checkpoint, through huggingface_hub."""
    assert f"HEAD /{TIMM_REPO}/resolve/main/model.safetensors" in runs["requests"]
    assert f"GET /{SEGMENTATION_REPO}/resolve/main/pytorch_model.bin" in runs["requests"]
    expected = references["expected"][f"hf-hub:{HUGGINGFACE_REPO}"]
    get_model, pretrained, convert, predict = (runs["online"][entry] for entry in TAKEN)
    for result in (get_model, pretrained, convert):
        assert "error" not in result, result
        torch.testing.assert_close(result["logits"], expected, atol=TOLERANCE, rtol=0)
    assert convert["class_names"] == CLASS_NAMES  # the converted file keeps the repository's names
    assert as_preprocessing(convert["preprocessing"]) == Preprocessing(resize_short=288, crop_size=256)
    assert predict["code"] == 0 and predict["printed"]["pred_class"] in CLASS_NAMES, predict


@pytest.mark.slow
def test_hub_failures_are_one_line_saying_what_went_wrong(runs):
    errors = {name: runs["online"][name]["error"] for name in FAILURES}
    errors[NEVER_DOWNLOADED] = runs["offline"][NEVER_DOWNLOADED]["error"]
    errors["down"] = runs["down"][LOADED[0]]["error"]
    expected = {
        **FAILURES,
        NEVER_DOWNLOADED: "not in the Hugging Face cache",
        "down": f"cannot reach the Hub at {runs['endpoint']}",
    }
    for name, error in errors.items():
        assert expected[name] in error and "\n" not in error, error
    assert "HF_HUB_OFFLINE is set" in errors[NEVER_DOWNLOADED]


def test_hub_names_are_parsed_as_timm_writes_them():
    assert is_hub_name("hf-hub:apple/mobilevit-small") and not is_hub_name("apple/mobilevit-small")
    assert parse_hub_name("hf-hub:apple/mobilevit-small") == ("apple/mobilevit-small", None)
    assert parse_hub_name("hf-hub:timm/mobilevit_s.cvnets_in1k@refs/pr/1") == (
        "timm/mobilevit_s.cvnets_in1k",
        "refs/pr/1",
    )
    for bad in ("hf-hub:mobilevit-small", "hf-hub:apple/mobilevit-small@", "hf-hub:a/b/c"):
        with pytest.raises(ValueError, match="hf-hub:<org>/<repo>"):
            parse_hub_name(bad)


def test_preprocessing_of_the_peers_configs():
    """The published repos' settings: Hugging Face's processor (older files give sizes as ints)
    and timm's pretrained_cfg, whose RGB mean and std are reversed for the BGR weights."""
    assert huggingface_preprocessing(
        {"crop_size": 256, "do_center_crop": True, "do_flip_channel_order": True, "resample": 2, "size": 288}
    ) == Preprocessing(resize_short=288, crop_size=256)
    assert huggingface_preprocessing(
        {"size": {"height": 512, "width": 512}, "do_center_crop": False, "resample": 3, "do_flip_channel_order": False}
    ) == Preprocessing(
        resize_short=512, crop_size=512, interpolation="bicubic", channel_order="RGB", keep_aspect_ratio=False
    )
    preprocessing = timm_preprocessing(
        {"input_size": [3, 224, 224], "crop_pct": 0.875, "mean": [0.5, 0.25, 0.0], "std": [0.1, 0.2, 0.4]}
    )
    assert (preprocessing.resize_short, preprocessing.crop_size, preprocessing.channel_order) == (256, 224, "BGR")
    torch.testing.assert_close(torch.tensor(preprocessing.mean), torch.tensor([0.0, 63.75, 127.5]))
    torch.testing.assert_close(torch.tensor(preprocessing.std), torch.tensor([102.0, 51.0, 25.5]))
    with pytest.raises(CheckpointError, match="resample 0"):
        huggingface_preprocessing({"resample": 0})
