# ImageNet-1k under data/imagenet, read as MobileViT v2 was trained (ml-cvnets v0.2+): 128 images per
# process at a fixed 256x256 (no variable batch sampler), random resized crops (bicubic) and flips;
# evaluation as the published v2 weights were tested (short edge 288, bicubic, centre crop 256, RGB
# in [0, 1]). Layouts as configs/_base_/datasets/imagenet_bs128_mobilevit.py.
data = dict(
    kind="auto",
    root="data/imagenet",
    batch_size=128,
    val_batch_size=128,
    num_workers=8,
    crop_scale=(0.08, 1.0),
    crop_ratio=(3 / 4, 4 / 3),
    horizontal_flip=True,
    sampler=dict(variable=False, base_size=256),
    preprocessing=dict(
        resize_short=288,
        crop_size=256,
        interpolation="bicubic",
        channel_order="RGB",
        mean=(0.0, 0.0, 0.0),
        std=(255.0, 255.0, 255.0),
    ),
)
