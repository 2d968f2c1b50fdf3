# PASCAL VOC 2012 with the SBD-augmented training masks (10,582 train_aug images, 1,449 val), read
# as the published DeepLabv3-MobileViT weights were trained (ml-cvnets v0.1): the list files of
# the DeepLab layout under data/VOCdevkit/VOC2012 (list/train_aug.txt, list/val.txt, lines
# `JPEGImages/x.jpg SegmentationClassAug/x.png`); 32 images per process; the short side resized to
# a random size in [256, 1024], a random 512x512 crop (mask padded with 255), flips. Evaluation
# as the published figures were measured: the whole image resized to 512x512, BGR in [0, 1], the
# predictions resized back with nearest neighbour. (The published runs also used COCO images
# mapped to the VOC classes; see docs/segmentation.md.) For VOC as released, use
# kind="voc" with root=".../VOC2012" (ImageSets/Segmentation/{train,val}.txt, SegmentationClass).
data = dict(
    kind="voc_aug",
    root="data/VOCdevkit/VOC2012",
    train_annotation="list/train_aug.txt",
    val_annotation="list/val.txt",
    batch_size=32,
    val_batch_size=16,
    num_workers=8,
    short_side_range=(256, 1024),
    horizontal_flip=True,
    sampler=dict(variable=False, base_size=512),  # no multi-scale sampler for dense tasks (the paper)
    preprocessing=dict(
        resize_short=512,
        crop_size=512,
        keep_aspect_ratio=False,
        channel_order="BGR",
        mean=(0.0, 0.0, 0.0),
        std=(255.0, 255.0, 255.0),
    ),
)
