# The demo (bash scripts/demo.sh): a narrow MobileViT (0.37 M parameters) trained from scratch on
# scikit-learn's handwritten digits (written to data/digits by tools/demo_digits.py), in a few
# minutes on 2 CPU cores. The recipe of the ImageNet configs, scaled down to 32-pixel images: the
# variable batch sampler at 24, 32 and 40 pixels, milder crops (a digit must stay in the crop), no
# flips (a mirrored 2 is no 2), full precision (bfloat16 is slow on most CPUs).
_base_ = [
    "../_base_/datasets/imagenet_bs128_mobilevit.py",
    "../_base_/schedules/imagenet_bs1024_adamw_cosine.py",
    "../_base_/default_runtime.py",
]
model = dict(
    arch=[
        ["mobilenetv2", 16, 1, 1, 2],
        ["mobilenetv2", 24, 2, 1, 2],
        ["mobilevit", 32, 2, 48, 96, 1, 2],
        ["mobilevit", 48, 2, 64, 128, 1, 2],
        ["mobilevit", 64, 1, 80, 160, 1, 2],
    ],
    num_classes=10,
    dropout=0.1,
    drop_rate=0.05,
    label_smoothing=0.1,
)
data = dict(
    kind="folder",
    root="data/digits",
    batch_size=64,
    val_batch_size=125,
    num_workers=1,
    crop_scale=(0.5, 1.0),
    horizontal_flip=False,
    sampler=dict(base_size=32, min_size=24, max_size=40, num_scales=3, multiple=8),
    preprocessing=dict(resize_short=32, crop_size=32),
)
optim = dict(lr=0.002)
schedule = dict(epochs=12, warmup_iters=40, warmup_start_lr=0.0002, min_lr=0.0001)
# EMA decay 0.95: this run is 200 steps, not 375,000; a slower average would still carry the
# initial weights and BatchNorm statistics (running variance 1) at the end.
train = dict(work_dir="work_dirs/demo", amp="none", ema_decay=0.95, log_interval=10, checkpoint_steps=0)
