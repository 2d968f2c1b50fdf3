# The segmentation demo, minutes on 2 CPU cores: a tiny DeepLabv3-MobileViT (3 stages, 16 ASPP
# channels) trained from scratch to find the handwritten zeros (scikit-learn's digit scans) pasted
# onto noisy 32x32 canvases; class 0 is the background, class 1 the digit, the soft rim of each
# stroke 255 (not scored). The published recipe scaled down: AdamW with warm-up and a cosine, EMA,
# random short-side resize, crop and (off here: a mirrored digit is no digit) flip; whole-image
# evaluation. The data, written by tools/demo_segmentation.py:
#   python tools/demo_segmentation.py data/digit_scenes --train 64 --val 20 --size 32 --digits 0 --digit-side 0.4 0.7
#   mobilevit train configs/deeplabv3/deeplabv3_mobilevit-tiny_1xb8_digit-scenes.py
#   mobilevit test configs/deeplabv3/deeplabv3_mobilevit-tiny_1xb8_digit-scenes.py work_dirs/segmentation_demo/best.pth
task = "segmentation"
model = dict(
    arch=[["mobilenetv2", 8, 1, 1, 2], ["mobilenetv2", 16, 2, 1, 2], ["mobilevit", 24, 2, 24, 48, 1, 2]],
    num_classes=2,
    aspp_channels=16,
    atrous_rates=(1, 2, 3),
    dropout=0.0,
)
data = dict(
    kind="pairs",
    root="data/digit_scenes",
    classes=["background", "0"],
    batch_size=8,
    val_batch_size=20,
    num_workers=0,
    short_side_range=(28, 40),
    horizontal_flip=False,
    sampler=dict(variable=False, base_size=32),
    preprocessing=dict(resize_short=32, crop_size=32, keep_aspect_ratio=False),
)
optim = dict(lr=0.015, weight_decay=0.01)
schedule = dict(epochs=12, warmup_iters=8, warmup_start_lr=0.001, min_lr=0.005)
# EMA decay 0.8: this run is about 100 steps; a slower average would still carry the initial weights
train = dict(
    work_dir="work_dirs/segmentation_demo",
    amp="none",
    ema_decay=0.8,
    log_interval=8,
    checkpoint_steps=0,
    keep_checkpoints=1,
)
