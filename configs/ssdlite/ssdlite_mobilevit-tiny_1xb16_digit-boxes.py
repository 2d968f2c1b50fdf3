# A detector to try on a laptop CPU: a narrow SSDLite-MobileViT (0.56 M parameters) on handwritten
# digit scans pasted on 160x160 canvases (tools/demo_detection.py writes them to data/digit_boxes as
# a COCO data set), its MobileViT stages seeded from the demo's digit classifier (same arch,
# work_dirs/demo/best.pth), on two CPU cores. The published recipe scaled down: 160x160 inputs
# (stage 5 at stride 1, as in the demo's arch: maps of 10, 10, 5, 3, 2 and 1 pooled, so no
# BatchNorm sees a 1x1 map; the digits, 24-56 pixels, fall on the first three), no random crop,
# photometric distortion or flips (the held-out canvases are drawn alike, and a mirrored 2 is no 2),
# a short schedule with a higher learning rate that ends low so that BatchNorm's running statistics
# settle, no EMA (the run is 250 steps of 16 images), full precision (bfloat16 is slow on most CPUs).
#   python tools/demo_digits.py write data/digits && mobilevit train configs/mobilevit/mobilevit-tiny_1xb64_digits.py
#   python tools/demo_detection.py data/digit_boxes
#   mobilevit train configs/ssdlite/ssdlite_mobilevit-tiny_1xb16_digit-boxes.py
#   mobilevit test configs/ssdlite/ssdlite_mobilevit-tiny_1xb16_digit-boxes.py work_dirs/digit_boxes/best.pth
# From scratch instead: --cfg-options model.pretrained='' model.pretrained_keys=''
_base_ = [
    "../_base_/datasets/coco_detection_bs32_ssdlite.py",
    "../_base_/schedules/coco_200e_adamw_ssdlite.py",
    "../_base_/default_runtime.py",
]
model = dict(
    arch=[  # the demo classifier's (configs/mobilevit/mobilevit-tiny_1xb64_digits.py)
        ["mobilenetv2", 16, 1, 1, 2],
        ["mobilenetv2", 24, 2, 1, 2],
        ["mobilevit", 32, 2, 48, 96, 1, 2],
        ["mobilevit", 48, 2, 64, 128, 1, 2],
        ["mobilevit", 64, 1, 80, 160, 1, 2],
    ],
    num_classes=5,  # the background and the digits 0-3
    pretrained="work_dirs/demo/best.pth",
    pretrained_keys="backbone",
)
data = dict(
    root="data/digit_boxes",
    train_split="images/train",
    val_split="images/val",
    train_annotation="annotations/instances_train.json",
    val_annotation="annotations/instances_val.json",
    batch_size=16,
    val_batch_size=50,
    num_workers=1,
    horizontal_flip=False,
)
detection = dict(image_size=160, random_crop=False, photometric_distort=False, detections_per_img=20)
optim = dict(lr=0.003)
schedule = dict(epochs=4, warmup_iters=20, warmup_start_lr=0.0004, min_lr=0.00001)
train = dict(
    work_dir="work_dirs/digit_boxes",
    amp="none",
    ema=False,
    log_interval=20,
    val_interval=4,
    checkpoint_steps=0,
    keep_checkpoints=1,
)
