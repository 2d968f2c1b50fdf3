# The v2 demo: MobileViT v2 at width 0.5 (1.3 M parameters) trained from scratch on scikit-learn's
# handwritten digits (written to data/digits by tools/demo_digits.py), in minutes on 2 CPU cores.
# ml-cvnets' v2 recipe scaled down to 32-pixel images: a fixed batch size (no variable batch
# sampler, as v2 was trained), milder crops (a digit must stay in the crop), no flips (a mirrored 2
# is no 2), RGB and bicubic resizing as the v2 weights, full precision (bfloat16 is slow on most CPUs).
#   python tools/demo_digits.py write data/digits
#   mobilevit train configs/mobilevitv2/mobilevitv2-050_1xb64_digits.py
#   mobilevit test configs/mobilevitv2/mobilevitv2-050_1xb64_digits.py work_dirs/demo_v2/best.pth
_base_ = [
    "../_base_/datasets/imagenet_bs128_mobilevitv2.py",
    "../_base_/schedules/imagenet_bs1024_adamw_cosine_mobilevitv2.py",
    "../_base_/default_runtime.py",
]
model = dict(arch="v2_050", num_classes=10, label_smoothing=0.1)
data = dict(
    kind="folder",
    root="data/digits",
    batch_size=64,
    val_batch_size=125,
    num_workers=1,
    crop_scale=(0.5, 1.0),
    horizontal_flip=False,
    sampler=dict(variable=False, base_size=32),
    preprocessing=dict(resize_short=32, crop_size=32),
)
optim = dict(lr=0.003, weight_decay=0.01, clip_grad=10.0)
schedule = dict(epochs=12, warmup_iters=40, warmup_start_lr=0.0002, min_lr=0.0001)
# EMA decay 0.95: this run is about 300 steps; a slower average would still carry the initial weights
train = dict(work_dir="work_dirs/demo_v2", amp="none", ema_decay=0.95, log_interval=10, checkpoint_steps=0)
