# A v2 detector to try on a laptop CPU: SSDLite on MobileViT v2 at width 0.5 (2.0 M parameters with
# 5 classes) on handwritten digit scans pasted on 160x160 canvases (tools/demo_detection.py writes
# them to data/digit_boxes as a COCO data set), its MobileViT stages seeded from the v2 demo's digit
# classifier (configs/mobilevitv2/mobilevitv2-050_1xb64_digits.py, work_dirs/demo_v2/best.pth). ml-cvnets'
# recipe scaled down: 160x160 inputs (maps of 10, 6, 3, 2, 1 and 1 pooled), no random crop,
# photometric distortion or flips, a short schedule, no EMA, full precision.
#   python tools/demo_digits.py write data/digits && mobilevit train configs/mobilevitv2/mobilevitv2-050_1xb64_digits.py
#   python tools/demo_detection.py data/digit_boxes
#   mobilevit train configs/ssdlite/ssdlite_mobilevitv2-050_1xb16_digit-boxes.py
#   mobilevit test configs/ssdlite/ssdlite_mobilevitv2-050_1xb16_digit-boxes.py work_dirs/digit_boxes_v2/best.pth
# From scratch instead: --cfg-options model.pretrained='' model.pretrained_keys=''
_base_ = [
    "../_base_/datasets/coco_detection_bs32_ssdlite.py",
    "../_base_/schedules/coco_200e_adamw_ssdlite.py",
    "../_base_/default_runtime.py",
]
model = dict(
    arch="v2_050",
    num_classes=5,  # the background and the digits 0-3
    pretrained="work_dirs/demo_v2/best.pth",
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
    preprocessing=dict(channel_order="RGB"),  # as the v2 classifier it starts from (and the v2 weights) take
)
detection = dict(image_size=160, random_crop=False, photometric_distort=False, detections_per_img=20)
optim = dict(lr=0.003, weight_decay=0.01)
schedule = dict(epochs=4, warmup_iters=20, warmup_start_lr=0.0004, min_lr=0.00001)
train = dict(
    work_dir="work_dirs/digit_boxes_v2",
    amp="none",
    ema=False,
    log_interval=20,
    val_interval=4,
    checkpoint_steps=0,
    keep_checkpoints=1,
)
