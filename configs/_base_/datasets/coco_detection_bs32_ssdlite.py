# COCO 2017 under data/coco, as ml-cvnets v0.1 trained and tested SSDLite-MobileViT:
# annotations/instances_{train,val}2017.json with images/{train,val}2017. 32 images per process at
# 320x320 (no variable batch sampler: detection networks are resolution-dependent, the paper says);
# SSD's random IoU crop, photometric distortion and flips; evaluation resizes each whole image to
# 320x320 (bilinear, aspect ratio not kept), BGR in [0, 1], and scores COCO box mAP@[.5:.95].
task = "detection"
data = dict(
    kind="coco",
    root="data/coco",
    train_split="images/train2017",
    val_split="images/val2017",
    train_annotation="annotations/instances_train2017.json",
    val_annotation="annotations/instances_val2017.json",
    batch_size=32,
    val_batch_size=32,
    num_workers=8,
    horizontal_flip=True,
)
detection = dict(
    image_size=320,
    score_thresh=0.01,
    nms_thresh=0.5,
    topk_candidates=400,
    detections_per_img=200,
    random_crop=True,
    photometric_distort=True,
)
