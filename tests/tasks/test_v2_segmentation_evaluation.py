"""MobileViT v2 segmenters are evaluated as ml-cvnets v0.2+ evaluated the published v2 weights
(cvnets-eval-seg with --evaluation.segmentation.resize-input-images): the short side resized with the
aspect ratio kept and no crop, both sides floored to a multiple of the output stride, one image at a
time, the mask scored at its own size. v1's protocol (the whole image to 512x512) is unchanged."""

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import mobilevit
from mobilevit.checkpoint import read_metadata, save_checkpoint
from mobilevit.checks import FieldError
from mobilevit.config import ConfigError, load_config
from mobilevit.data.transforms import EvalTransform, Preprocessing, aspect_size
from mobilevit.engine.evaluator import evaluate
from mobilevit.models import build_segmenter
from mobilevit.tasks import CLASSIFICATION, DETECTION, SEGMENTATION
from mobilevit.tasks.base import prepare_arrays
from mobilevit.tasks.segmentation import SEGMENTATION_PREPROCESSING, V2_SEGMENTATION_PREPROCESSING
from mobilevit.zoo import get_record

ROOT = Path(__file__).resolve().parents[2]
V2_DEMO = ROOT / "configs/deeplabv3/deeplabv3_mobilevitv2-050_1xb8_digit-scenes.py"
KEPT = Preprocessing(64, 64, "bicubic", "RGB", keep_aspect_ratio=True, size_multiple=16)
# (height, width) of each test image and what ml-cvnets feeds its model for it at short side 64, stride 16:
# the short side 64, the long side int(64 * long / short), then both floored to a multiple of 16
SIZES = {(50, 70): (64, 80), (60, 40): (96, 64), (64, 64): (64, 64)}


def rgb_image(seed: int, height: int, width: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_the_short_side_is_resized_the_long_side_floored_as_ml_cvnets_resize():
    assert aspect_size(375, 500, 512) == (512, 682)  # int(682.67): floored, not rounded
    assert aspect_size(500, 375, 512) == (682, 512)
    assert aspect_size(333, 500, 512) == (512, 768)
    assert aspect_size(300, 300, 512) == (512, 512)


def test_a_non_square_image_keeps_its_aspect_ratio_and_is_floored_to_the_stride():
    rgb = rgb_image(0, 375, 500)
    preprocessing = Preprocessing(512, 512, "bicubic", "RGB", keep_aspect_ratio=True, size_multiple=16)
    image = EvalTransform(preprocessing)(rgb)
    assert image.shape == (3, 512, 672)  # 682 floored to 672; v1's protocol gives 512x512
    # ml-cvnets: an 8-bit image resized (short side 512, bicubic), to [0, 1], then floored bilinearly
    # with align_corners=True (engine/eval_segmentation.py)
    source = torch.from_numpy(rgb).permute(2, 0, 1)[None].float()
    resized = F.interpolate(source, size=(512, 682), mode="bicubic", align_corners=False).round().clamp(0, 255)
    expected = F.interpolate(resized / 255, size=(512, 672), mode="bilinear", align_corners=True)[0]
    torch.testing.assert_close(image, expected, atol=1e-6, rtol=0)
    assert EvalTransform(SEGMENTATION_PREPROCESSING)(rgb).shape == (3, 512, 512)  # v1: unchanged


def test_bad_size_multiples_are_refused_naming_the_field():
    with pytest.raises(FieldError, match="size_multiple is 16, which keeps each image's aspect ratio, but"):
        Preprocessing(512, 512, keep_aspect_ratio=False, size_multiple=16)
    with pytest.raises(FieldError, match="size_multiple must be at least 0, got -8"):
        Preprocessing(512, 512, size_multiple=-8)
    with pytest.raises(FieldError, match=r"size_multiple must be at most resize_short \(512\), got 1024"):
        Preprocessing(512, 512, size_multiple=1024)
    with pytest.raises(ConfigError, match="data.preprocessing.size_multiple is 16, which keeps"):
        load_config(V2_DEMO, ["data.preprocessing.keep_aspect_ratio=False"])
    plain = load_config(V2_DEMO, ["data.preprocessing.size_multiple=0"])
    with pytest.raises(ConfigError, match="data.preprocessing.size_multiple to the output stride"):
        SEGMENTATION.build_data(plain, train=False)  # a centre crop would drop mask pixels


def test_the_v2_records_and_configs_keep_the_aspect_ratio_and_v1_does_not():
    for name, stride in (("deeplabv3_mobilevitv2-100_3rdparty_voc", 16), ("pspnet_mobilevitv2-100_3rdparty_ade20k", 8)):
        preprocessing = get_record(name).preprocessing
        assert preprocessing.keep_aspect_ratio and preprocessing.size_multiple == stride
    for config, stride in (
        ("deeplabv3/deeplabv3_mobilevitv2-100_4xb32_voc.py", 16),
        ("pspnet/pspnet_mobilevitv2-100_4xb4_ade20k.py", 8),
    ):
        loaded = load_config(ROOT / "configs" / config)
        assert loaded.data.preprocessing.size_multiple == loaded.model.output_stride == stride
    v1 = get_record("deeplabv3_mobilevit-small_3rdparty_voc").preprocessing
    assert v1 == SEGMENTATION_PREPROCESSING and not v1.keep_aspect_ratio and v1.size_multiple == 0
    assert V2_SEGMENTATION_PREPROCESSING.size_multiple == 16  # a v2 file without our header
    v1_config = load_config(ROOT / "configs/deeplabv3/deeplabv3_mobilevit-small_4xb32_voc.py").data
    assert v1_config.preprocessing.size_multiple == 0 and v1_config.val_batch_size == 16


def write_pairs(root: Path) -> list[np.ndarray]:
    """Validation pairs of three sizes; each mask holds 0, 1 and 255 (not scored) in known places."""
    masks = []
    for index, (height, width) in enumerate(SIZES):
        (root / "images/val").mkdir(parents=True, exist_ok=True)
        (root / "masks/val").mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb_image(index, height, width)).save(root / f"images/val/{index}.png")
        mask = np.zeros((height, width), np.uint8)
        mask[: height // 3] = 1
        mask[-2:] = 255
        Image.fromarray(mask).save(root / f"masks/val/{index}.png")
        masks.append(mask)
    return masks


def test_evaluation_runs_each_image_at_its_aspect_ratio_and_scores_every_mask_pixel(tmp_path):
    masks = write_pairs(tmp_path / "pairs")
    config = load_config(V2_DEMO, [f"data.root={tmp_path / 'pairs'}", "data.val_batch_size=4"])
    data = SEGMENTATION.build_data(config, train=False)
    seen = []

    def everything_is_one(images: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(images.shape))
        logits = torch.zeros(images.shape[0], 2, *images.shape[-2:])
        logits[:, 1] = 1.0
        return logits

    metrics = evaluate(
        everything_is_one, data.val, torch.device("cpu"), SEGMENTATION.evaluator(config, torch.device("cpu"))
    )
    assert seen == [(1, 3, *size) for size in SIZES.values()]  # one image a batch, its own aspect ratio
    scored = sum(int((mask != 255).sum()) for mask in masks)
    ones = sum(int((mask == 1).sum()) for mask in masks)
    assert metrics.count == 3 and metrics.pixels == scored  # every pixel of each mask at its own size
    assert metrics.class_iou == [0.0, pytest.approx(ones / scored)]


def test_predict_runs_each_image_at_its_aspect_ratio(tmp_path):
    torch.manual_seed(0)
    model = build_segmenter("v2_050", num_classes=3, aspp_channels=16).eval()
    model.preprocessing = KEPT
    images = [rgb_image(index, *size) for index, size in enumerate(SIZES)]
    shapes = []
    runner = SEGMENTATION.runner(model)

    def run(batch: torch.Tensor) -> torch.Tensor:
        shapes.append(tuple(batch.shape))
        return runner(batch)

    results = SEGMENTATION.predict(model, images, run)
    assert shapes == [(1, 3, *size) for size in SIZES.values()]
    for image, result, size in zip(images, results, SIZES):
        with torch.no_grad():
            logits = model(EvalTransform(KEPT)(image)[None])
        expected = F.interpolate(logits, size=size, mode="bilinear", align_corners=True)[0].softmax(0)
        np.testing.assert_allclose(result["pred_scores"], expected.numpy(), atol=1e-5)
        assert result["pred_mask"].shape == size
    # our files keep the setting; a v1 header is written as before, without it
    save_checkpoint(tmp_path / "v2.safetensors", model.state_dict(), "v2_050", KEPT, task="segmentation")
    assert mobilevit.init_model(tmp_path / "v2.safetensors").preprocessing == KEPT
    v1 = build_segmenter("xx_small", num_classes=3)
    save_checkpoint(tmp_path / "v1.safetensors", v1.state_dict(), "xx_small", SEGMENTATION_PREPROCESSING)
    assert "size_multiple" not in read_metadata(tmp_path / "v1.safetensors")["preprocessing"]
    assert mobilevit.init_model(tmp_path / "v1.safetensors").preprocessing == SEGMENTATION_PREPROCESSING


def test_tasks_whose_batches_take_one_size_refuse_a_size_multiple():
    for task, config in (
        (CLASSIFICATION, "configs/mobilevit/mobilevit-tiny_1xb64_digits.py"),
        (DETECTION, "configs/ssdlite/ssdlite_mobilevitv2-050_1xb16_digit-boxes.py"),
    ):
        overrides = ["data.preprocessing.size_multiple=16"]
        if task is DETECTION:
            overrides.append("data.preprocessing.keep_aspect_ratio=True")
        with pytest.raises(ConfigError, match="size_multiple=16 keeps each image at its own size, which only"):
            task.build_data(load_config(ROOT / config, overrides), train=False)
    with pytest.raises(ValueError, match="size_multiple=16 keeps each image at its own size: prepare the 2 images"):
        prepare_arrays([rgb_image(0, 40, 50), rgb_image(1, 50, 40)], KEPT)


def test_calibration_images_of_a_kept_size_preprocessing_are_one_batch(tmp_path):
    from mobilevit.export.calibration import calibration_images

    for index, (height, width) in enumerate(SIZES):
        Image.fromarray(rgb_image(index, height, width)).save(tmp_path / f"{index}.png")
    batch = calibration_images(tmp_path, KEPT)
    assert batch.shape == (3, 3, 64, 64)  # each whole image to crop_size squared
    squares = Preprocessing(64, 64, "bicubic", "RGB", keep_aspect_ratio=False)
    assert torch.equal(batch, calibration_images(tmp_path, squares))
