"""Every config value is checked when the config is read: a bad one is a one-line ConfigError naming its key."""

import dataclasses

import pytest

from mobilevit.config import Config, ConfigError, load_config
from mobilevit.data.transforms import Preprocessing

# Bad values of every field, as command-line overrides, and the start of the message each must give.
BAD_VALUES = [
    ("model.arch", "'tiny'", "model.arch is not an arch: unknown MobileViT arch 'tiny'"),
    ("model.arch", "5", "model.arch must be one of 'small', 'x_small', 'xx_small' or a list of stages, got 5"),
    ("model.arch", "[['mobilenetv2', 16, 3, 1, 2]]", "model.arch has a bad stage"),
    ("model.arch", "[['mobilevit', 32, 2, 50, 96, 1, 2]]", "model.arch has a bad stage"),
    ("model.arch", "[['mobilenetv2', 16, 1.5, 1, 2]]", "model.arch has a bad stage"),
    ("model.num_classes", "0", "model.num_classes must be at least 1, got 0"),
    ("model.num_classes", "True", "model.num_classes must be an integer or None, got True"),
    ("model.dropout", "1.0", "model.dropout must be in [0, 1), got 1.0"),
    ("model.dropout", "'0.1'", "model.dropout must be a number, got '0.1'"),
    ("model.label_smoothing", "-0.1", "model.label_smoothing must be in [0, 1), got -0.1"),
    ("model.drop_rate", "2", "model.drop_rate must be in [0, 1), got 2.0"),
    ("model.out_indices", "[5]", "model.out_indices must be a non-empty list of stage numbers in [-5, 4], got (5,)"),
    ("model.out_indices", "[]", "model.out_indices must be a non-empty list"),
    ("model.out_indices", "'-1'", "model.out_indices must be a list of integers, got '-1'"),
    ("model.frozen_stages", "6", "model.frozen_stages must be in [-1, 5] (-1: none frozen), got 6"),
    ("model.norm_eval", "1", "model.norm_eval must be True or False, got 1"),
    ("model.class_names", "['a', 'b']", "model.class_names must be empty or 1000 names (model.num_classes)"),
    ("model.pretrained", "5", "model.pretrained must be a string, got 5"),
    ("model.pretrained_keys", "'backbone.*'", "model.pretrained_keys must be '' or a module name such as 'backbone'"),
    ("model.pretrained_keys", "'backbone'", "model.pretrained_keys needs model.pretrained"),
    ("model.output_stride", "4", "model.output_stride must be 0 (the task's own), 8, 16 or 32, got 4"),
    ("model.atrous_rates", "[6, 0]", "model.atrous_rates must be a non-empty list of positive integers, got (6, 0)"),
    ("model.aspp_channels", "0", "model.aspp_channels must be at least 1, got 0"),
    ("model.aspp_dropout", "1.5", "model.aspp_dropout must be"),
    ("model.head", "'unet'", "model.head must be one of 'deeplabv3', 'pspnet', got 'unet'"),
    ("model.pool_sizes", "[1, 0]", "model.pool_sizes must be a non-empty list of positive integers, got (1, 0)"),
    ("model.psp_channels", "0", "model.psp_channels must be at least 1, got 0"),
    ("model.aux_loss_weight", "-1", "model.aux_loss_weight must be 0 (no auxiliary head) or more"),
    ("optim.name", "'adam'", "optim.name must be one of 'adamw', 'sgd', got 'adam'"),
    ("optim.momentum", "1", "optim.momentum must be in [0, 1)"),
    ("data.short_side_range", "[512, 256]", "data.short_side_range must be (low, high) pixel sizes"),
    ("data.preprocessing.keep_aspect_ratio", "'yes'", "data.preprocessing.keep_aspect_ratio must be True or False"),
    ("task", "'detect'", "task must be one of 'classification', 'segmentation', 'detection', got 'detect'"),
    ("detection.image_size", "16", "detection.image_size must be at least 32, got 16"),
    ("detection.score_thresh", "1.5", "detection.score_thresh must be"),
    ("detection.nms_thresh", "-0.1", "detection.nms_thresh must be"),
    ("detection.topk_candidates", "0", "detection.topk_candidates must be at least 1, got 0"),
    ("detection.detections_per_img", "0", "detection.detections_per_img must be at least 1, got 0"),
    ("detection.random_crop", "'no'", "detection.random_crop must be True or False"),
    ("detection.photometric_distort", "1", "detection.photometric_distort must be True or False"),
    (
        "optim.backbone_lr_mult",
        "0",
        "optim.backbone_lr_mult must be positive (freeze parameters with model.frozen_stages), got 0",
    ),
    (
        "optim.head_lr_mult",
        "-1",
        "optim.head_lr_mult must be positive (freeze parameters with model.frozen_stages), got -1",
    ),
    ("model.class_names", "[1, 2]", "model.class_names must be a list of strings, got (1, 2)"),
    (
        "data.kind",
        "'files'",
        "data.kind must be one of 'auto', 'folder', 'annotation', 'voc', 'voc_aug', 'pairs', 'ade20k', 'coco', 'boxes', "
        "got 'files'",
    ),
    ("data.root", "''", "data.root must be the data set's folder, got ''"),
    ("data.root", "3", "data.root must be a string, got 3"),
    ("data.train_split", "None", "data.train_split must be a string, got None"),
    ("data.val_split", "1", "data.val_split must be a string, got 1"),
    ("data.train_annotation", "[]", "data.train_annotation must be a string, got []"),
    ("data.val_annotation", "2", "data.val_annotation must be a string, got 2"),
    ("data.classes", "['a', 'a']", "data.classes must be distinct class names"),
    ("data.classes", "[3]", "data.classes must be a list of class names or the name of a text file of them"),
    ("data.classes", "''", "data.classes must be a list of class names"),
    ("data.batch_size", "0", "data.batch_size must be at least 1, got 0"),
    ("data.batch_size", "True", "data.batch_size must be an integer, got True"),
    ("data.batch_size", "8.0", "data.batch_size must be an integer, got 8.0"),
    ("data.val_batch_size", "0", "data.val_batch_size must be at least 1, got 0"),
    ("data.num_workers", "-1", "data.num_workers must be at least 0, got -1"),
    ("data.skip_bad_images", "'yes'", "data.skip_bad_images must be True or False, got 'yes'"),
    ("data.crop_scale", "'0.5,1.0'", "data.crop_scale must be a list of 2 numbers, got '0.5,1.0'"),
    ("data.crop_scale", "[0.5, 1.5]", "data.crop_scale must be (low, high) area fractions with 0 < low <= high <= 1"),
    ("data.crop_scale", "[0.5]", "data.crop_scale must be a list of 2 numbers, got (0.5,)"),
    ("data.crop_ratio", "[2, 1]", "data.crop_ratio must be (low, high) aspect ratios with 0 < low <= high"),
    ("data.horizontal_flip", "0", "data.horizontal_flip must be True or False, got 0"),
    ("data.sampler", "3", "data.sampler must be a dict, got 3"),
    ("data.sampler.variable", "'no'", "data.sampler.variable must be True or False"),
    ("data.sampler.base_size", "100", "data.sampler.min_size must be at most base_size (100), got 160"),
    ("data.sampler.min_size", "0", "data.sampler.min_size must be at least 1, got 0"),
    ("data.sampler.max_size", "200", "data.sampler.max_size must be at least base_size (256), got 200"),
    ("data.sampler.num_scales", "0", "data.sampler.num_scales must be at least 1, got 0"),
    ("data.sampler.multiple", "0", "data.sampler.multiple must be at least 1, got 0"),
    ("data.sampler.batch_floor", "'two'", "data.sampler.batch_floor must be one of 'base', 'one', got 'two'"),
    ("data.preprocessing", "[]", "data.preprocessing must be a dict, got []"),
    ("data.preprocessing.resize_short", "100", "data.preprocessing.resize_short must be at least crop_size (256)"),
    (
        "data.preprocessing.resize_short",
        "5000",
        "data.preprocessing.resize_short must be at most 4096 pixels, got 5000",
    ),
    (
        "data.preprocessing.crop_size",
        "300",
        "data.preprocessing.resize_short must be at least crop_size (300), got 288",
    ),
    ("data.preprocessing.crop_size", "0", "data.preprocessing.crop_size must be at least 1, got 0"),
    ("data.preprocessing.size_multiple", "-16", "data.preprocessing.size_multiple must be at least 0, got -16"),
    (
        "data.preprocessing.size_multiple",
        "300",
        "data.preprocessing.size_multiple must be at most resize_short (288), got 300",
    ),
    (
        "data.preprocessing.interpolation",
        "'nearest'",
        "data.preprocessing.interpolation must be one of 'bilinear', 'bicubic', got 'nearest'",
    ),
    (
        "data.preprocessing.channel_order",
        "XYZ",
        "data.preprocessing.channel_order must be one of 'RGB', 'BGR', got 'XYZ'",
    ),
    ("data.preprocessing.mean", "[0.5, 0.5]", "data.preprocessing.mean must be a list of 3 numbers, got (0.5, 0.5)"),
    (
        "data.preprocessing.std",
        "[1, 0, 1]",
        "data.preprocessing.std must be three positive numbers, got (1.0, 0.0, 1.0)",
    ),
    ("optim.lr", "0", "optim.lr must be positive, got 0.0"),
    ("optim.weight_decay", "-1", "optim.weight_decay must be at least 0, got -1.0"),
    ("optim.betas", "[0.9, 1.0]", "optim.betas must be two numbers in [0, 1), got (0.9, 1.0)"),
    ("optim.betas", "0.9", "optim.betas must be a list of 2 numbers, got 0.9"),
    ("optim.eps", "0", "optim.eps must be positive, got 0.0"),
    ("optim.clip_grad", "-1", "optim.clip_grad must be at least 0, got -1.0"),
    ("schedule.epochs", "0", "schedule.epochs must be at least 1, got 0"),
    ("schedule.warmup_iters", "-1", "schedule.warmup_iters must be at least 0, got -1"),
    ("schedule.warmup_start_lr", "-0.1", "schedule.warmup_start_lr must be at least 0, got -0.1"),
    ("schedule.min_lr", "-1", "schedule.min_lr must be at least 0, got -1.0"),
    ("schedule.min_lr", "0.5", "schedule.min_lr must be at most optim.lr (0.002), got 0.5"),
    ("train.work_dir", "3", "train.work_dir must be a string, got 3"),
    ("train.device", "bogus", "train.device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got 'bogus'"),
    ("train.device", "meta", "train.device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got 'meta'"),
    ("train.amp", "fp16", "train.amp must be one of 'none', 'bfloat16', 'float16', got 'fp16'"),
    ("train.ema", "'true'", "train.ema must be True or False, got 'true'"),
    ("train.ema_decay", "1", "train.ema_decay must be in [0, 1), got 1.0"),
    ("train.seed", "-1", "train.seed must be in [0, 2**63), got -1"),
    ("train.accumulate", "0", "train.accumulate must be at least 1, got 0"),
    ("train.log_interval", "0", "train.log_interval must be at least 1, got 0"),
    ("train.val_interval", "0", "train.val_interval must be at least 1, got 0"),
    ("train.checkpoint_interval", "0", "train.checkpoint_interval must be at least 1, got 0"),
    ("train.checkpoint_steps", "-5", "train.checkpoint_steps must be at least 0, got -5"),
    ("train.keep_checkpoints", "-1", "train.keep_checkpoints must be at least 0, got -1"),
    ("train.auto_resume", "None", "train.auto_resume must be True or False, got None"),
    ("train.max_steps", "-1", "train.max_steps must be at least 0, got -1"),
    ("train.progress_bar", "2", "train.progress_bar must be True or False, got 2"),
    ("train.tensorboard", "2", "train.tensorboard must be True or False, got 2"),
    ("train.keep_freed_memory", "'no'", "train.keep_freed_memory must be True or False, got 'no'"),
    ("train.compile", "'yes'", "train.compile must be True or False, got 'yes'"),
]


@pytest.fixture(scope="module")
def config_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("config") / "plain.py"
    path.write_text("model = dict(arch='small', num_classes=1000)\n")
    return path


@pytest.mark.parametrize("key, value, message", BAD_VALUES)
def test_a_bad_value_is_refused_naming_its_key(config_file, key, value, message):
    with pytest.raises(ConfigError) as caught:
        load_config(config_file, [f"{key}={value}"])
    text = str(caught.value)
    assert text.startswith(f"{config_file}: ") and "\n" not in text
    assert text[len(f"{config_file}: ") :].startswith(message)


def _keys(schema, prefix=""):
    for section in dataclasses.fields(schema):
        kind = section.default_factory if section.default_factory is not dataclasses.MISSING else type(section.default)
        if dataclasses.is_dataclass(kind):
            yield from _keys(kind, f"{prefix}{section.name}.")
        else:
            yield prefix + section.name


def test_every_field_of_every_section_has_a_bad_value_above():
    keys = set(_keys(Config))
    assert "data.preprocessing.channel_order" in keys and len(keys) > 50
    assert keys == {key for key, _, _ in BAD_VALUES if key not in ("data.sampler", "data.preprocessing")}


def test_good_values_still_pass(config_file):
    config = load_config(
        config_file,
        [
            "data.crop_scale=[0.5, 1]",
            "data.preprocessing.mean=[1, 2, 3]",
            "train.device=cpu",
            "train.device=cuda:1",
            "model.out_indices=[-1, 2]",
            "data.classes=classes.txt",
            "optim.lr=1",
        ],
    )
    assert config.data.crop_scale == (0.5, 1.0) and isinstance(config.data.crop_scale[1], float)
    assert config.data.preprocessing.mean == (1.0, 2.0, 3.0) and config.optim.lr == 1.0
    assert load_config(config_file, ["train.amp=float16", "train.device=cuda"]).train.amp == "float16"
    with pytest.raises(ConfigError, match="train.amp 'float16' needs a CUDA device"):
        load_config(config_file, ["train.amp=float16", "train.device=cpu"])


def test_the_checks_hold_for_preprocessing_built_in_python():
    with pytest.raises(ValueError, match="channel_order must be one of 'RGB', 'BGR', got 'XYZ'"):
        Preprocessing(channel_order="XYZ")
    with pytest.raises(ValueError, match="mean must be a list of 3 numbers"):
        Preprocessing(mean=(0.5, 0.5))
