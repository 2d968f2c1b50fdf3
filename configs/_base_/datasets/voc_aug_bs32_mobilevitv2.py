# PASCAL VOC 2012 with the SBD-augmented training masks, read as ml-cvnets v0.2+ trained and tested its
# MobileViT v2 segmenters: the list files of configs/_base_/datasets/voc_aug_bs32_deeplabv3.py, 32
# images per process, the short side resized to a random size in [256, 768] (bicubic), a random
# 512x512 crop, flips; evaluation on each whole image, its short side resized to 512 (bicubic) keeping
# the aspect ratio and both sides floored to a multiple of the output stride (ml-cvnets' cvnets-eval-seg),
# one image a batch, RGB in [0, 1].
# Not in our loader: ml-cvnets' photometric distortion, rotation (10 degrees), Gaussian noise and
# crops that keep any class under 75 % of the crop; the COCO images mapped to VOC's classes that the
# published runs added (see docs/segmentation.md).
data = dict(
    kind="voc_aug",
    root="data/VOCdevkit/VOC2012",
    train_annotation="list/train_aug.txt",
    val_annotation="list/val.txt",
    batch_size=32,
    val_batch_size=16,
    num_workers=8,
    short_side_range=(256, 768),
    horizontal_flip=True,
    sampler=dict(variable=False, base_size=512),
    preprocessing=dict(
        resize_short=512,
        crop_size=512,
        keep_aspect_ratio=True,
        size_multiple=16,  # the output stride
        interpolation="bicubic",
        channel_order="RGB",
        mean=(0.0, 0.0, 0.0),
        std=(255.0, 255.0, 255.0),
    ),
)
