# SSDLite-MobileViTv2-1.0 on COCO 2017, 4 GPUs x 32 images: ml-cvnets' recipe of its published weights
# (config/detection/ssd_coco/mobilevit_v2.yaml): 320x320, AdamW with weight decay 0.05,
# warm-up from 9e-5 to 9e-4 over 500 steps, a cosine down to 1e-6 over 200 epochs, an EMA of the
# weights; projection channels 512/256/256/128/128/64 (the model's own for a v2 arch); the backbone
# started from the ImageNet-1k weights. Every published width follows the same recipe: set
# model.arch and model.pretrained (--cfg-options "model.arch=v2_050" "model.pretrained=mobilevitv2-050_3rdparty_in1k").
# ml-cvnets read the images as RGB and resized them bicubically (its yaml's resize.interpolation); our
# detection data feeds them in data.preprocessing.channel_order and resizes them with its interpolation
# (RGB and bicubic here, as the v2 weights take them; docs/detection.md).
#   torchrun --nproc-per-node 4 tools/train.py configs/ssdlite/ssdlite_mobilevitv2-100_4xb32_coco.py
_base_ = [
    "../_base_/datasets/coco_detection_bs32_ssdlite.py",
    "../_base_/schedules/coco_200e_adamw_ssdlite.py",
    "../_base_/default_runtime.py",
]
model = dict(
    arch="v2_100",
    num_classes=81,  # the background and COCO's 80 classes
    pretrained="mobilevitv2-100_3rdparty_in1k",
    pretrained_keys="backbone",
)
data = dict(
    preprocessing=dict(channel_order="RGB", interpolation="bicubic")
)  # the v2 weights' input; v1's: BGR, bilinear
optim = dict(weight_decay=0.05)
train = dict(ema_decay=0.9995)
