"""init_model and inference_model: building with weights and preprocessing, images in every form."""

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import mobilevit
from mobilevit import zoo
from mobilevit.apis import prepare_batch, preprocessing_of
from mobilevit.checkpoint import load_checkpoint, save_checkpoint
from mobilevit.data import EvalTransform, ImageReadError
from mobilevit.data.transforms import Preprocessing
from mobilevit.imagenet import IMAGENET_CLASSES
from mobilevit.models import build_classifier, build_segmenter, build_ssdlite
from mobilevit.zoo import get_record

NAME = "mobilevit-xxsmall_3rdparty_in1k"
CONFIG = Path(__file__).parents[1] / "configs" / "mobilevit" / "mobilevit-xxsmall_8xb128_in1k.py"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "xxs.pth"
    torch.save({"meta": {}, "state_dict": build_classifier("xx_small").state_dict()}, path)
    return path


# Small crops keep these tests quick; the official 288/256 pipeline is the default of every model.
QUICK = Preprocessing(resize_short=72, crop_size=64)


@pytest.fixture(scope="module")
def model(checkpoint):
    model = mobilevit.init_model(NAME, checkpoint)
    model.preprocessing = QUICK
    return model


@pytest.fixture(scope="module")
def rgb():
    y, x = np.mgrid[0:90, 0:120]
    return np.stack([x * 2, y * 2, (x + y) % 256], -1).astype(np.uint8)


def test_imagenet_class_names():
    assert len(IMAGENET_CLASSES) == 1000
    assert IMAGENET_CLASSES[0] == "tench" and IMAGENET_CLASSES[1] == "goldfish"
    assert IMAGENET_CLASSES[65] == "sea snake" and IMAGENET_CLASSES[999] == "toilet tissue"
    assert IMAGENET_CLASSES[207] == "golden retriever" and IMAGENET_CLASSES[409] == "analog clock"


def test_the_package_exports_the_class_names_and_synsets_as_tuples():
    assert mobilevit.imagenet_classes[:3] == ("tench", "goldfish", "great white shark")
    synsets = mobilevit.imagenet_synsets
    assert len(synsets) == len(set(synsets)) == 1000 and list(synsets) == sorted(synsets)
    assert (synsets[0], synsets[65], synsets[999]) == ("n01440764", "n01751748", "n15075141")
    assert all(len(synset) == 9 and synset[0] == "n" and synset[1:].isdigit() for synset in synsets)


def test_init_model_from_a_zoo_name(checkpoint):
    model = mobilevit.init_model(NAME, checkpoint, fuse=False)
    assert not model.training and model.device == torch.device("cpu")
    assert model.preprocessing == get_record(NAME).preprocessing
    expected = torch.load(checkpoint, weights_only=True)["state_dict"]
    assert all(torch.equal(value, expected[key]) for key, value in model.state_dict().items())


def test_init_model_from_a_config_file(checkpoint, model):
    from_config = mobilevit.init_model(str(CONFIG), checkpoint, device="cpu")
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(from_config(x), model(x))
    assert from_config.preprocessing.channel_order == "BGR"


def test_init_model_is_in_eval_mode_and_refuses_a_bad_name(checkpoint):
    assert not mobilevit.init_model(NAME, checkpoint).training
    with pytest.raises(ValueError, match="nor a config file nor a checkpoint. Did you mean 'mobilevit-xxsmall"):
        mobilevit.init_model("mobilevit-xxsmal")
    with pytest.raises(FileNotFoundError, match="config file not found: nope.py"):
        mobilevit.init_model("nope.py")


def test_one_image_gives_the_prediction_of_the_eval_transform(model, rgb):
    result = mobilevit.inference_model(model, rgb[..., ::-1].copy())  # an OpenCV-style BGR array
    with torch.no_grad():
        expected = model(EvalTransform(model.preprocessing)(rgb)[None]).softmax(1)[0].numpy()
    assert set(result) == {"pred_label", "pred_score", "pred_class", "pred_scores"}
    assert result["pred_label"] == int(expected.argmax()) and isinstance(result["pred_label"], int)
    assert result["pred_score"] == pytest.approx(float(expected.max()), abs=1e-6)
    assert result["pred_class"] == IMAGENET_CLASSES[result["pred_label"]]
    assert np.allclose(result["pred_scores"], expected, atol=1e-6) and result["pred_scores"].shape == (1000,)


def test_every_input_form_gives_the_same_scores_in_one_forward(model, rgb, tmp_path):
    Image.fromarray(rgb).save(tmp_path / "image.png")
    forms = [str(tmp_path / "image.png"), tmp_path / "image.png", Image.fromarray(rgb), rgb[..., ::-1].copy()]
    calls = []
    handle = model.register_forward_hook(lambda module, args, output: calls.append(args[0].shape[0]))
    try:
        results = mobilevit.inference_model(model, forms)
        rgb_result = mobilevit.inference_model(model, rgb, channel_order="RGB")
    finally:
        handle.remove()
    assert calls == [4, 1]
    for result in results:
        assert np.allclose(result["pred_scores"], rgb_result["pred_scores"], atol=1e-6)


def test_grayscale_and_alpha_arrays(model, rgb):
    gray = mobilevit.inference_model(model, rgb[..., 0].copy())
    same = mobilevit.inference_model(model, np.repeat(rgb[..., :1], 3, axis=2))
    assert np.allclose(gray["pred_scores"], same["pred_scores"], atol=1e-6)
    bgra = np.concatenate([rgb[..., ::-1], np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=2)
    assert np.allclose(
        mobilevit.inference_model(model, bgra)["pred_scores"],
        mobilevit.inference_model(model, rgb, channel_order="RGB")["pred_scores"],
        atol=1e-6,
    )


def test_bad_inputs_are_named(model, rgb, tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        mobilevit.inference_model(model, rgb.astype(np.float32))
    with pytest.raises(ValueError, match="channel_order must be 'BGR' or 'RGB'"):
        mobilevit.inference_model(model, rgb, channel_order="bgr")
    with pytest.raises(ValueError, match="no images given"):
        mobilevit.inference_model(model, [])
    with pytest.raises(ValueError, match="missing.jpg"):
        mobilevit.inference_model(model, tmp_path / "missing.jpg")
    with pytest.raises(TypeError, match="cannot read an image from a int"):
        mobilevit.inference_model(model, 3)


def test_class_names_of_a_fine_tuned_model(tmp_path, rgb):
    model = build_classifier("xx_small", num_classes=3)
    model.preprocessing = QUICK
    result = mobilevit.inference_model(model.eval(), rgb, channel_order="RGB")
    assert result["pred_class"] == str(result["pred_label"]) and result["pred_scores"].shape == (3,)
    model.class_names = ["cat", "dog", "fish"]
    assert mobilevit.inference_model(model, rgb)["pred_class"] in model.class_names
    path = save_checkpoint(tmp_path / "pets.safetensors", model.state_dict(), "xx_small", class_names=["a", "b", "c"])
    config = tmp_path / "pets.py"
    config.write_text(f"_base_ = [{str(CONFIG)!r}]\nmodel = dict(num_classes=3)\n")
    loaded = mobilevit.init_model(config, path)
    loaded.preprocessing = QUICK
    assert loaded.class_names == ("a", "b", "c")
    assert mobilevit.inference_model(loaded, rgb)["pred_class"] in ("a", "b", "c")


def test_init_model_fuses_for_inference_when_told(checkpoint, rgb):
    fused, unfused = mobilevit.init_model(NAME, checkpoint, fuse=True), mobilevit.init_model(NAME, checkpoint)
    assert fused.backbone.fused and not unfused.backbone.fused
    assert not any(isinstance(module, torch.nn.BatchNorm2d) for module in fused.modules())
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(fused(x), unfused(x), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="cannot load weights into a fused model"):
        load_checkpoint(fused, checkpoint)


def test_the_class_names_of_a_zoo_model_are_its_records(monkeypatch, rgb, checkpoint):
    names = tuple(f"class {index}" for index in range(1000))
    monkeypatch.setitem(zoo.MODELS, NAME, dataclasses.replace(get_record(NAME), class_names=names))
    model = mobilevit.init_model(NAME, checkpoint)
    model.preprocessing = QUICK
    result = mobilevit.inference_model(model, rgb)
    assert model.class_names == names and result["pred_class"] == f"class {result['pred_label']}"


def test_a_model_built_without_the_zoo_takes_the_official_input_and_names_no_classes(checkpoint, rgb):
    classifier = build_classifier("xx_small").eval()
    assert classifier.preprocessing is None and classifier.class_names == ()
    assert preprocessing_of(classifier) == Preprocessing()
    result = mobilevit.inference_model(classifier, rgb)
    assert result["pred_class"] == str(result["pred_label"]) and result["pred_scores"].shape == (1000,)
    assert preprocessing_of(build_segmenter("xx_small")) == zoo.SEGMENTATION_PREPROCESSING
    assert preprocessing_of(build_ssdlite("xx_small")) == zoo.DETECTION_PREPROCESSING
    # a 1000-class checkpoint that names no classes holds ImageNet-1k weights, as every published one
    assert mobilevit.init_model(str(CONFIG), checkpoint).class_names == IMAGENET_CLASSES
    assert mobilevit.init_model(str(CONFIG)).class_names == ()


def test_a_model_in_training_mode_is_run_in_eval_mode_and_left_as_it_was(checkpoint, rgb):
    model = mobilevit.init_model(NAME, checkpoint, fuse=False)
    model.preprocessing = QUICK
    model.train()
    try:
        first = mobilevit.inference_model(model, [rgb, rgb[::-1].copy()])
        assert model.training
    finally:
        model.eval()
    assert np.allclose(first[0]["pred_scores"], mobilevit.inference_model(model, rgb)["pred_scores"], atol=1e-6)


def test_prepare_batch_follows_the_preprocessing(rgb):
    batch = prepare_batch([rgb], Preprocessing(resize_short=64, crop_size=48, channel_order="RGB", std=(1, 1, 1)))
    assert batch.shape == (1, 3, 48, 48) and batch.max() > 1  # not scaled: std 1


def test_thin_arrays_are_refused_before_their_resize(model):
    with pytest.raises(ImageReadError, match=r"refusing image 2 of 2 \(an array\): 3000x2 pixels is an aspect"):
        mobilevit.inference_model(model, [np.zeros((64, 64, 3), np.uint8), np.zeros((2, 3000, 3), np.uint8)])
    with pytest.raises(ImageReadError, match=r"refusing the image \(a PIL image\): 1x900"):
        mobilevit.inference_model(model, Image.new("RGB", (1, 900)))


def test_threads_on_a_model_in_train_mode_get_the_sequential_results_and_change_nothing(checkpoint, rgb):
    model = mobilevit.init_model(NAME, checkpoint, fuse=False)
    model.preprocessing = Preprocessing(resize_short=40, crop_size=32)
    model.train()
    before = {key: value.clone() for key, value in model.state_dict().items()}
    images = [rgb, rgb[::-1].copy(), rgb[:, ::-1].copy(), rgb[20:, 30:].copy()]
    expected = [mobilevit.inference_model(model, image)["pred_scores"] for image in images]
    barrier = threading.Barrier(len(images))

    def classify(image):
        barrier.wait()
        return [mobilevit.inference_model(model, image)["pred_scores"] for _ in range(5)]

    with ThreadPoolExecutor(len(images)) as pool:
        results = list(pool.map(classify, images))
    assert model.training and all(module.training for module in model.modules())
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    for scores, wanted in zip(results, expected):
        for score in scores:
            assert np.array_equal(score, wanted)
