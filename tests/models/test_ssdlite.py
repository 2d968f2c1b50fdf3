"""SSDLite-MobileViT: parameter counts, ml-cvnets' checkpoint layout, anchors, matching and loss.

The ml-cvnets detection layout is written out here from the reference notes (dense-tasks.md
section 2.4), independently of the converter; its encoder is ml-cvnets' classification layout
(built from timm's by test_convert's table) under ``encoder.``.
"""

import math

import pytest
import torch
from torchvision.ops import box_convert

from mobilevit.checkpoint import load_checkpoint
from mobilevit.convert import CheckpointError, detect_layout, to_mobilevit
from mobilevit.models import build_ssdlite
from mobilevit.models.ssdlite import anchor_generator, grid_sizes

# The published 5.7 / 2.7 / 1.8 M, as ml-cvnets' layout counts them (81 classes).
PARAMETERS = {"small": 5_738_826, "x_small": 2_742_042, "xx_small": 1_755_050}
STAGE_CHANNELS = {"small": (128, 160), "x_small": (80, 96), "xx_small": (64, 80)}
TIMM_NAMES = {"small": "mobilevit_s", "x_small": "mobilevit_xs", "xx_small": "mobilevit_xxs"}


@pytest.mark.parametrize("arch", list(PARAMETERS))
def test_parameter_counts(arch):
    with torch.device("meta"):
        model = build_ssdlite(arch)
    assert sum(parameter.numel() for parameter in model.parameters()) == PARAMETERS[arch]


def cvnets_ssd_shapes(arch, num_classes=81):
    """Key -> shape of ml-cvnets' SSD layers (extra layers and heads) for ``arch``."""
    stage4, stage5 = STAGE_CHANNELS[arch]

    def unit(prefix, out_channels, in_per_group, kernel):
        shapes = {f"{prefix}.block.conv.weight": (out_channels, in_per_group, kernel, kernel)}
        for name in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{prefix}.block.norm.{name}"] = (out_channels,)
        shapes[f"{prefix}.block.norm.num_batches_tracked"] = ()
        return shapes

    shapes = {}
    for name, (inputs, outputs) in {"os_64": (stage5, 256), "os_128": (256, 128), "os_256": (128, 128)}.items():
        shapes |= unit(f"extra_layers.{name}.dw_conv", inputs, 1, 3)
        shapes |= unit(f"extra_layers.{name}.pw_conv", outputs, inputs, 1)
    shapes["extra_layers.os_-1.1.block.conv.weight"] = (64, 128, 1, 1)
    shapes |= unit("ssd_heads.0.proj_layer", 512, stage4, 1)
    shapes |= unit("ssd_heads.1.proj_layer", 256, stage5, 1)
    for level, channels in enumerate((512, 256, 256, 128, 128)):
        shapes |= unit(f"ssd_heads.{level}.loc_cls_layer.dw_conv", channels, 1, 3)
        shapes[f"ssd_heads.{level}.loc_cls_layer.pw_conv.block.conv.weight"] = (6 * (4 + num_classes), channels, 1, 1)
        shapes[f"ssd_heads.{level}.loc_cls_layer.pw_conv.block.conv.bias"] = (6 * (4 + num_classes),)
    shapes["ssd_heads.5.loc_cls_layer.block.conv.weight"] = (4 * (4 + num_classes), 64, 1, 1)
    shapes["ssd_heads.5.loc_cls_layer.block.conv.bias"] = (4 * (4 + num_classes),)
    return shapes


def cvnets_ssd_state_dict(arch):
    timm = pytest.importorskip("timm")
    from test_convert import timm_to_cvnets

    classifier = timm_to_cvnets(timm.create_model(TIMM_NAMES[arch], pretrained=False).state_dict())
    encoder = {
        f"encoder.{key}": value
        for key, value in classifier.items()
        if not key.startswith(("conv_1x1_exp.", "classifier."))
    }
    generator = torch.Generator().manual_seed(0)
    heads = {
        key: torch.randn(shape, generator=generator) if shape else torch.tensor(7)
        for key, shape in cvnets_ssd_shapes(arch).items()
    }
    return encoder | heads


@pytest.mark.parametrize("arch", list(PARAMETERS))
def test_cvnets_layout_converts_every_key_with_every_shape(arch, tmp_path):
    theirs = cvnets_ssd_state_dict(arch)
    assert detect_layout(theirs) == "cvnets_ssd"
    ours = to_mobilevit(theirs, "cvnets_ssd")
    model = build_ssdlite(arch)
    expected = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    assert {key: tuple(value.shape) for key, value in ours.items()} == expected
    assert len(ours) == len(theirs)
    torch.save(theirs, tmp_path / f"ssd_mobilevit_{arch}_320.pt")
    load_checkpoint(model, tmp_path / f"ssd_mobilevit_{arch}_320.pt")
    assert torch.equal(
        model.state_dict()["head.levels.5.predictor.conv.bias"], theirs["ssd_heads.5.loc_cls_layer.block.conv.bias"]
    )
    assert torch.equal(
        model.state_dict()["backbone.extra_layers.3.1.conv.weight"], theirs["extra_layers.os_-1.1.block.conv.weight"]
    )


def test_cvnets_layout_with_a_stray_key_fails_naming_it():
    theirs = cvnets_ssd_state_dict("xx_small")
    theirs["ssd_heads.6.extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match="ssd_heads.6.extra.weight"):
        to_mobilevit(theirs, "cvnets_ssd")


def cvnets_anchors(image_size=320):
    """ml-cvnets' SSD priors (anchor_generator.py, the notes' section 2.2), as (cx, cy, w, h) in [0, 1]."""
    strides = (16, 32, 64, 128, 256, -1)
    aspect_ratios = ((2, 3),) * 5 + ((2,),)
    scales = [0.1 + (1.05 - 0.1) * k / 6 for k in range(7)]
    priors = []
    for level, stride in enumerate(strides):
        size = 1 if stride == -1 else math.ceil(image_size / stride)
        s_k, s_next = scales[level], scales[level + 1]
        shapes = [(s_k, s_k), (math.sqrt(s_k * s_next),) * 2]
        for ratio in aspect_ratios[level]:
            shapes += [
                (s_k * math.sqrt(ratio), s_k / math.sqrt(ratio)),
                (s_k / math.sqrt(ratio), s_k * math.sqrt(ratio)),
            ]
        for y in range(size):
            for x in range(size):
                for width, height in shapes:
                    priors.append([(x + 0.5) / size, (y + 0.5) / size, width, height])
    return torch.tensor(priors, dtype=torch.float64).clamp(0, 1)


def test_anchors_equal_the_cvnets_formula():
    model = build_ssdlite("xx_small").eval()
    anchors = box_convert(model.box_coding.anchors.double(), "xyxy", "cxcywh") / 320
    reference = cvnets_anchors()
    assert anchors.shape == (3232, 4) == reference.shape
    assert (anchors - reference).abs().max() < 1e-6
    assert grid_sizes(320) == [(20, 20), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)]
    with torch.no_grad():
        outputs = model(torch.rand(1, 3, 320, 320))
    assert outputs["bbox_regression"].shape == (1, 3232, 4) and outputs["cls_logits"].shape == (1, 3232, 81)


# A hand-made case (pixels of a 320x320 image): five anchors and one or two ground-truth boxes.
ANCHORS = torch.tensor(
    [[0, 0, 10, 10], [0, 0, 20, 20], [50, 50, 60, 60], [80, 80, 100, 100], [200, 200, 210, 210]], dtype=torch.float32
)


def test_matching_thresholds_at_half_and_forces_each_box_its_best_anchor():
    model = build_ssdlite("xx_small", num_classes=3)
    # IoU 0.82 with anchor 0 (0.25 with anchor 1); IoU 0.36 with anchor 3, its best: matched anyway.
    ground_truth = torch.tensor([[1, 0, 11, 10], [80, 80, 92, 92]], dtype=torch.float32)
    from torchvision.ops import box_iou

    matches = model.box_coding.match(ground_truth, ANCHORS)
    assert matches.tolist() == [0, -1, -1, 1, -1]
    assert torch.equal(matches, model.box_coding.matcher(box_iou(ground_truth, ANCHORS)))


def test_loss_equals_the_hand_computed_value():
    model = build_ssdlite("xx_small", num_classes=3)
    model.box_coding.anchors = ANCHORS  # matched as [0, -1, -1, -1, -1]
    outputs = {
        "bbox_regression": torch.zeros(1, 5, 4),
        "cls_logits": torch.tensor([[[0.0, 0, 0], [0, 0, 0], [2, 0, 0], [0, 1, 0], [0, 0, 3]]]),
    }
    losses = model.loss(outputs, [torch.tensor([[1.0, 0, 11, 10]])], [torch.tensor([1])])
    # Box: the target offsets of anchor 0 are (10 * 1/10, 0, 0, 0): smooth-L1 0.5, over 1 positive.
    assert losses["bbox_regression"].item() == pytest.approx(0.5)
    # Classes: the positive (log 3) and the 3 hardest of 4 negatives (anchors 4, 3, 1; not 2).
    expected = math.log(3) + math.log(2 + math.exp(3)) + math.log(2 + math.e) + math.log(3)
    assert losses["classification"].item() == pytest.approx(expected, rel=1e-6)


def torchvision_ssd(model):
    """torchvision's SSD around the model's own network, anchors and settings: the reference for its
    loss and decoding (mean 0 and std 1: the weights take [0, 1] pixels as they are)."""
    from torchvision.models.detection.ssd import SSD

    settings = model.decoding
    return SSD(
        model.backbone,
        anchor_generator(),
        (settings.image_size, settings.image_size),
        model.num_classes,
        image_mean=[0.0, 0.0, 0.0],
        image_std=[1.0, 1.0, 1.0],
        head=model.head,
        score_thresh=settings.score_thresh,
        nms_thresh=settings.nms_thresh,
        detections_per_img=settings.detections_per_img,
        topk_candidates=settings.topk_candidates,
    )


def test_detections_and_losses_are_torchvision_ssds():
    model = build_ssdlite("xx_small", num_classes=5, score_thresh=0.2).eval()
    reference = torchvision_ssd(model).eval()
    coding = model.box_coding
    image = torch.rand(3, 240, 400)
    resized = torch.nn.functional.interpolate(image[None], size=(320, 320), mode="bilinear", align_corners=False)
    with torch.no_grad():
        expected = reference([image])[0]
        detections = coding.decode(model(resized), [(240, 400)])[0]
        detected = model.detect([image])[0]
    assert len(expected["boxes"]) > 0
    for key in ("boxes", "scores", "labels"):
        assert torch.equal(detections[key], expected[key])
        assert torch.equal(detected[key], expected[key])

    model.train()
    reference.train()
    boxes, labels = [torch.tensor([[10.0, 20, 200, 150], [30, 40, 60, 90]])], [torch.tensor([1, 4])]
    torch.manual_seed(0)
    expected = reference(list(resized), [{"boxes": boxes[0], "labels": labels[0]}])
    torch.manual_seed(0)
    losses = model.loss(model(resized), boxes, labels)
    for key in ("bbox_regression", "classification"):
        assert torch.allclose(losses[key], expected[key])


def test_the_model_takes_one_input_a_resized_batch():
    model = build_ssdlite("xx_small", num_classes=3).eval()
    with pytest.raises(TypeError, match=r"detect\(images\) takes a list of images"):
        model([torch.rand(3, 320, 320)])
    assert model.detect([]) == []


def test_a_batch_tensor_of_another_size_is_refused():
    model = build_ssdlite("xx_small", num_classes=3).eval()
    with pytest.raises(ValueError, match="320x320"):
        model(torch.rand(1, 3, 256, 256))


def test_a_classification_checkpoint_seeds_the_detector_and_a_detection_checkpoint_the_classifier(tmp_path):
    """``model.pretrained`` with ``pretrained_keys='backbone'`` (what training calls), across the
    ``encoder.`` prefix of ml-cvnets' detection checkpoints, both ways."""
    from mobilevit.engine.finetune import load_pretrained
    from mobilevit.models import build_classifier
    from test_convert import timm_to_cvnets

    timm = pytest.importorskip("timm")
    classification = timm_to_cvnets(timm.create_model("mobilevit_xxs", pretrained=False).state_dict())
    torch.save(classification, tmp_path / "mobilevit_xxs.pt")
    detector = build_ssdlite("xx_small")
    head_before = detector.head.levels[0].projection.conv.weight.clone()
    report = load_pretrained(detector, tmp_path / "mobilevit_xxs.pt", keys="backbone")
    assert report.layout == "cvnets"
    assert torch.equal(detector.backbone.stem.conv.weight, classification["conv_1.block.conv.weight"])
    assert torch.equal(
        detector.backbone.layers[4][1].conv_fusion.conv.weight, classification["layer_5.1.fusion.block.conv.weight"]
    )
    assert torch.equal(detector.head.levels[0].projection.conv.weight, head_before)
    assert report.skipped["head.levels.0.projection.conv.weight"] == "outside model.pretrained_keys='backbone'"
    assert report.skipped["backbone.conv_1x1_exp.conv.weight"] == "not in the model"

    detection = cvnets_ssd_state_dict("xx_small")
    torch.save(detection, tmp_path / "ssd_mobilevit_xxs_320.pt")
    classifier = build_classifier("xx_small")
    report = load_pretrained(classifier, tmp_path / "ssd_mobilevit_xxs_320.pt", keys="backbone")
    assert report.layout == "cvnets_ssd"
    assert torch.equal(
        classifier.backbone.layers[4][1].conv_fusion.conv.weight,
        detection["encoder.layer_5.1.fusion.block.conv.weight"],
    )
    assert report.skipped["backbone.conv_1x1_exp.conv.weight"] == "not in the checkpoint"
    with pytest.raises(CheckpointError, match="does not fit the model's backbone"):
        load_pretrained(build_classifier("x_small"), tmp_path / "ssd_mobilevit_xxs_320.pt", keys="backbone")


def test_the_decoding_settings_are_one_dataclass_checked_once_naming_the_field():
    import json

    from mobilevit.checks import FieldError
    from mobilevit.config import DetectionConfig
    from mobilevit.export.detection import _Decoded
    from mobilevit.models import DecodingSettings

    with pytest.raises(FieldError, match=r"^score_thresh must be in \[0, 1\), got 1.5$"):
        build_ssdlite("xx_small", score_thresh=1.5)
    section = DetectionConfig(nms_thresh=0.3, random_crop=False)
    assert isinstance(section, DecodingSettings) and section.decoding() == DecodingSettings(nms_thresh=0.3)
    assert build_ssdlite("xx_small", **section.decoding().as_dict()).decoding == section.decoding()
    sidecar = {"num_classes": 3, "image_size": 64, "topk_candidates": 0, "arch": "small"}
    with pytest.raises(ValueError, match=r"d\.json holds no detector settings .*: topk_candidates must be at least 1"):
        _Decoded(json.dumps({**sidecar, "class_names": ["background", "a", "b"]}), "d.json")
