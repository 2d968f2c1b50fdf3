# ADE20k (SceneParsing, ADEChallengeData2016 under data/ade20k: images/{training,validation}/*.jpg,
# annotations/{training,validation}/*.png), read as ml-cvnets v0.2+ trained and tested its MobileViT
# v2 segmenters: 150 classes (the masks' 0, "other", not scored), 4 images per process, the short
# side resized to a random size in [256, 768] (bicubic), a random 512x512 crop, flips; evaluation on
# each whole image, its short side resized to 512 (bicubic) keeping the aspect ratio and both sides
# floored to a multiple of the output stride (ml-cvnets' cvnets-eval-seg), one image a batch, RGB in
# [0, 1]. Not in our loader: ml-cvnets' photometric distortion, rotation (10 degrees), Gaussian noise
# and class-balanced crops.
data = dict(
    kind="ade20k",
    root="data/ade20k/ADEChallengeData2016",
    train_split="training",
    val_split="validation",
    batch_size=4,
    val_batch_size=4,
    num_workers=4,
    short_side_range=(256, 768),
    horizontal_flip=True,
    sampler=dict(variable=False, base_size=512),
    preprocessing=dict(
        resize_short=512,
        crop_size=512,
        keep_aspect_ratio=True,
        size_multiple=8,  # the output stride
        interpolation="bicubic",
        channel_order="RGB",
        mean=(0.0, 0.0, 0.0),
        std=(255.0, 255.0, 255.0),
    ),
)
