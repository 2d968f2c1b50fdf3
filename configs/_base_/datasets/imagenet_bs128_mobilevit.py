# ImageNet-1k under data/imagenet, read as MobileViT was trained: 128 images per process at 256x256,
# the variable batch sampler (160-320 pixels, batch scaled to keep the pixels per batch), random
# resized crops and flips; evaluation as the published weights were tested (short edge 288,
# bilinear, centre crop 256, BGR in [0, 1]).
#
# Either layout works ('auto'): mmpretrain's annotation files (meta/train.txt, meta/val.txt with
# `relative/path label` lines, images under train/ and val/), or a folder per class
# (train/n01440764/*.JPEG, val/n01440764/*.JPEG).
data = dict(
    kind="auto",
    root="data/imagenet",
    train_split="train",
    val_split="val",
    train_annotation="meta/train.txt",
    val_annotation="meta/val.txt",
    batch_size=128,
    val_batch_size=128,
    num_workers=8,
    skip_bad_images=False,
    crop_scale=(0.08, 1.0),
    crop_ratio=(3 / 4, 4 / 3),
    horizontal_flip=True,
    sampler=dict(
        variable=True,
        base_size=256,
        min_size=160,
        max_size=320,
        num_scales=5,
        multiple=32,
        batch_floor="base",  # as the release that trained the published weights; 'one' for later releases
    ),
    preprocessing=dict(
        resize_short=288,
        crop_size=256,
        interpolation="bilinear",
        channel_order="BGR",
        mean=(0.0, 0.0, 0.0),
        std=(255.0, 255.0, 255.0),
    ),
)
