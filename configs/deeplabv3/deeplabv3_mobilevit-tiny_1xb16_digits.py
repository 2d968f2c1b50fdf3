# The segmentation demo: a narrow DeepLabv3-MobileViT (0.3 M parameters) trained from scratch on
# digit scans pasted onto 64x64 canvases (written to data/digit_scenes by
# tools/demo_segmentation.py; 11 classes: background and the ten digits), in minutes on 2 CPU
# cores. The published recipe scaled down: AdamW with warm-up and a cosine, the head at 10x the
# backbone's learning rate is left out (a network trained from scratch has no pretrained backbone
# to protect), EMA, random short-side resize, crop and flip; output stride 8, so 8x8 logits.
#   python tools/demo_segmentation.py data/digit_scenes
#   mobilevit train configs/deeplabv3/deeplabv3_mobilevit-tiny_1xb16_digits.py
task = "segmentation"
model = dict(
    arch=[
        ["mobilenetv2", 16, 1, 1, 2],
        ["mobilenetv2", 24, 2, 1, 2],
        ["mobilevit", 32, 2, 48, 96, 1, 2],
        ["mobilevit", 48, 2, 64, 128, 1, 2],
        ["mobilevit", 64, 2, 80, 160, 1, 2],
    ],
    num_classes=11, output_stride=8, aspp_channels=64, dropout=0.1, drop_rate=0.0,
)
data = dict(
    kind="pairs",
    root="data/digit_scenes",
    classes=["background", *"0123456789"],
    batch_size=16,
    val_batch_size=50,
    num_workers=1,
    short_side_range=(48, 96),
    horizontal_flip=False,  # a mirrored 2 is no 2
    sampler=dict(variable=False, base_size=64),
    preprocessing=dict(resize_short=64, crop_size=64),
)
optim = dict(lr=0.003, weight_decay=0.01)
schedule = dict(epochs=20, warmup_iters=50, warmup_start_lr=0.0003, min_lr=1e-5)
train = dict(work_dir="work_dirs/segmentation_demo", amp="none", ema_decay=0.98, log_interval=25,
             checkpoint_steps=0, keep_checkpoints=1)
