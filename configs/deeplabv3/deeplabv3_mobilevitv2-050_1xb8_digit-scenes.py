# The v2 segmentation demo, minutes on 2 CPU cores: DeepLabv3 on MobileViT v2 at width 0.5 with a
# narrow ASPP (32 channels) trained from scratch to find the handwritten zeros pasted onto noisy
# 64x64 canvases, with the auxiliary head of ml-cvnets' v2 recipes (training only, loss weight 0.4).
# Class 0 is the background, class 1 the digit, the soft rim of each stroke 255 (not scored).
# ml-cvnets' v2 recipe scaled down: AdamW with warm-up and a cosine, EMA, random short-side resize,
# crop (flips off: a mirrored digit is no digit); whole-image evaluation as ml-cvnets', RGB, bicubic. The data:
#   python tools/demo_segmentation.py data/digit_scenes_64 --train 64 --val 20 --size 64 --digits 0 --digit-side 0.3 0.6
#   mobilevit train configs/deeplabv3/deeplabv3_mobilevitv2-050_1xb8_digit-scenes.py
#   mobilevit test configs/deeplabv3/deeplabv3_mobilevitv2-050_1xb8_digit-scenes.py work_dirs/segmentation_demo_v2/best.pth
# PSPNet instead: --cfg-options model.head=pspnet model.psp_channels=32
task = "segmentation"
model = dict(
    arch="v2_050",
    num_classes=2,
    head="deeplabv3",
    aspp_channels=32,
    atrous_rates=(1, 2, 3),
    psp_channels=32,
    dropout=0.0,
    aux_loss_weight=0.4,
)
data = dict(
    kind="pairs",
    root="data/digit_scenes_64",
    classes=["background", "0"],
    batch_size=8,
    val_batch_size=20,
    num_workers=0,
    short_side_range=(56, 80),
    horizontal_flip=False,
    sampler=dict(variable=False, base_size=64),
    # evaluated as ml-cvnets' v2 weights: short side 64, aspect ratio kept, sides floored to the output stride
    preprocessing=dict(
        resize_short=64,
        crop_size=64,
        keep_aspect_ratio=True,
        size_multiple=16,
        interpolation="bicubic",
        channel_order="RGB",
    ),
)
optim = dict(lr=0.005, weight_decay=0.01, clip_grad=10.0)
schedule = dict(epochs=12, warmup_iters=8, warmup_start_lr=0.0005, min_lr=0.0005)
# EMA decay 0.8: this run is about 100 steps; a slower average would still carry the initial weights
train = dict(
    work_dir="work_dirs/segmentation_demo_v2",
    amp="none",
    ema_decay=0.8,
    log_interval=8,
    checkpoint_steps=0,
    keep_checkpoints=1,
)
