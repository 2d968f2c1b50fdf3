# A detector to try on a laptop CPU: a narrow SSDLite-MobileViT (0.56 M parameters) trained from
# scratch on handwritten digit scans pasted on 96x96 canvases (tools/demo_detection.py writes them
# to data/digit_boxes as a COCO data set), in minutes. The published recipe scaled down: 96x96
# inputs, SSD's random IoU crop and flips (no photometric distortion on grey paper), a short
# schedule with a higher learning rate, full precision (bfloat16 is slow on most CPUs).
#   python tools/demo_detection.py data/digit_boxes --train-images 320 --val-images 100
#   mobilevit train configs/ssdlite/ssdlite_mobilevit-tiny_1xb32_digit-boxes.py
_base_ = [
    "../_base_/datasets/coco_detection_bs32_ssdlite.py",
    "../_base_/schedules/coco_200e_adamw_ssdlite.py",
    "../_base_/default_runtime.py",
]
model = dict(
    arch=[
        ["mobilenetv2", 16, 1, 1, 2],
        ["mobilenetv2", 24, 2, 1, 2],
        ["mobilevit", 32, 2, 48, 96, 1, 2],
        ["mobilevit", 48, 2, 64, 128, 1, 2],
        ["mobilevit", 64, 2, 80, 160, 1, 2],
    ],
    num_classes=5,  # the background and the digits 0-3
)
data = dict(
    root="data/digit_boxes",
    train_split="images/train",
    val_split="images/val",
    train_annotation="annotations/instances_train.json",
    val_annotation="annotations/instances_val.json",
    batch_size=32,
    val_batch_size=50,
    num_workers=0,
    horizontal_flip=False,  # a mirrored 2 is no 2
)
detection = dict(image_size=96, photometric_distort=False, detections_per_img=20)
optim = dict(lr=0.004)
schedule = dict(epochs=8, warmup_iters=10, warmup_start_lr=0.0004, min_lr=0.00001)
train = dict(work_dir="work_dirs/digit_boxes", amp="none", ema_decay=0.95, log_interval=10, checkpoint_steps=0)
