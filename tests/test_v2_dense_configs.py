"""The published MobileViT v2 recipes under configs/ (segmentation on VOC and ADE20k, detection on
COCO): their settings, the models they build (ml-cvnets' parameter counts), ADE20k's layout, SGD."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mobilevit.config import DataConfig, load_config
from mobilevit.data.segmentation import SegmentationDataset, find_pairs
from mobilevit.data.transforms import EvalTransform
from mobilevit.engine.trainer import build_optimizer
from mobilevit.models import DeepLabV3, PSPNet, SSDLite
from mobilevit.tasks import get_task
from mobilevit.tasks.segmentation import class_names_of
from mobilevit.zoo import get_record

ROOT = Path(__file__).resolve().parents[1]
# config: (zoo record of its weights, model class, output stride)
RECIPES = {
    "configs/deeplabv3/deeplabv3_mobilevitv2-100_4xb32_voc.py": ("deeplabv3_mobilevitv2-100_3rdparty_voc", DeepLabV3, 16),
    "configs/deeplabv3/deeplabv3_mobilevitv2-100_4xb4_ade20k.py": ("deeplabv3_mobilevitv2-100_3rdparty_ade20k", DeepLabV3, 8),
    "configs/pspnet/pspnet_mobilevitv2-100_4xb32_voc.py": ("pspnet_mobilevitv2-100_3rdparty_voc", PSPNet, 16),
    "configs/pspnet/pspnet_mobilevitv2-100_4xb4_ade20k.py": ("pspnet_mobilevitv2-100_3rdparty_ade20k", PSPNet, 8),
    "configs/ssdlite/ssdlite_mobilevitv2-100_4xb32_coco.py": ("ssdlite_mobilevitv2-100_3rdparty_coco", SSDLite, 32),
}  # fmt: skip


@pytest.mark.parametrize("path", RECIPES)
def test_a_v2_recipe_builds_the_published_model_and_names_its_record(path):
    config = load_config(ROOT / path)
    name, model_class, output_stride = RECIPES[path]
    record = get_record(name)
    assert record.config == path and config.model.arch == record.arch
    assert config.model.pretrained == "mobilevitv2-100_3rdparty_in1k" and config.model.pretrained_keys == "backbone"
    task = get_task(config.task)
    with torch.device("meta"):
        model = task.build_model(config)
        trained = task.build_model(config, training=True)
    assert type(model) is model_class and model.backbone.output_stride == output_stride
    assert round(sum(parameter.numel() for parameter in model.parameters()) / 1e6, 2) == record.params_m
    if config.task == "segmentation":  # the auxiliary head of ml-cvnets' recipes, in training only
        assert config.model.aux_loss_weight == 0.4 and model.aux_head is None and trained.aux_head is not None
        with torch.device("meta"):
            published = task.build_from_arch(record.arch, num_classes=record.num_classes, **dict(record.build_options))
        assert task.settings_of(model) == task.settings_of(published)  # output stride, rates or pool sizes
        assert config.data.preprocessing == record.preprocessing


def test_the_v2_recipes_optimise_as_ml_cvnets():
    voc = load_config(ROOT / "configs/pspnet/pspnet_mobilevitv2-100_4xb32_voc.py")
    assert (voc.optim.name, voc.optim.lr, voc.optim.weight_decay, voc.optim.clip_grad) == ("adamw", 0.0005, 0.05, 10.0)
    assert (voc.schedule.epochs, voc.schedule.warmup_iters, voc.schedule.min_lr) == (50, 500, 1e-6)
    ade = load_config(ROOT / "configs/deeplabv3/deeplabv3_mobilevitv2-100_4xb4_ade20k.py")
    assert (ade.optim.name, ade.optim.lr, ade.optim.momentum, ade.optim.weight_decay) == ("sgd", 0.02, 0.9, 1e-4)
    assert (ade.schedule.epochs, ade.schedule.min_lr, ade.model.atrous_rates) == (120, 0.0002, (12, 24, 36))
    optimizer = build_optimizer([{"params": [torch.nn.Parameter(torch.zeros(1))]}], ade.optim)
    assert isinstance(optimizer, torch.optim.SGD) and optimizer.defaults["momentum"] == 0.9
    coco = load_config(ROOT / "configs/ssdlite/ssdlite_mobilevitv2-100_4xb32_coco.py")
    assert (coco.optim.lr, coco.optim.weight_decay, coco.schedule.epochs, coco.model.num_classes) == (
        0.0009,
        0.05,
        200,
        81,
    )


def test_ade20k_masks_are_read_as_classes_from_zero_with_other_ignored(tmp_path):
    root = tmp_path / "ADEChallengeData2016"
    for split in ("training", "validation"):
        (root / "images" / split).mkdir(parents=True)
        (root / "annotations" / split).mkdir(parents=True)
        mask = np.array([[0, 1, 150], [7, 0, 2]], np.uint8)
        Image.fromarray(np.full((2, 3, 3), 128, np.uint8)).save(root / "images" / split / "ADE_0001.jpg")
        Image.fromarray(mask).save(root / "annotations" / split / "ADE_0001.png")
    pairs = find_pairs("ade20k", root, "validation", "")
    assert pairs.reduce_zero_label and [image.name for image, _ in pairs.samples] == ["ADE_0001.jpg"]
    transform = EvalTransform(
        load_config(ROOT / "configs/pspnet/pspnet_mobilevitv2-100_4xb4_ade20k.py").data.preprocessing
    )
    sample = SegmentationDataset(pairs, transform, 150)[0]
    assert sample.mask.tolist() == [[255, 0, 149], [6, 255, 1]]
    config = load_config(ROOT / "configs/pspnet/pspnet_mobilevitv2-100_4xb4_ade20k.py", [f"data.root={root}"])
    assert class_names_of(config)[:3] == ("wall", "building", "sky") and len(class_names_of(config)) == 150
    with pytest.raises(FileNotFoundError, match="expected data.root to be the ADEChallengeData2016 folder"):
        find_pairs("ade20k", root, "train", "")
    assert DataConfig(kind="ade20k").kind == "ade20k"
