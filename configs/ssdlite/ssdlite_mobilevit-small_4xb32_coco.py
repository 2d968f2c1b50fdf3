# SSDLite-MobileViT-Small on COCO 2017, 4 GPUs x 32 images, the recipe of the published weights
# (ml-cvnets v0.1); the backbone starts from the ImageNet-1k classification weights.
#   torchrun --nproc-per-node 4 tools/train.py configs/ssdlite/ssdlite_mobilevit-small_4xb32_coco.py
_base_ = [
    "../_base_/datasets/coco_detection_bs32_ssdlite.py",
    "../_base_/schedules/coco_200e_adamw_ssdlite.py",
    "../_base_/default_runtime.py",
]
model = dict(
    arch="small",
    num_classes=81,  # the background and COCO's 80 classes
    pretrained="mobilevit-small_3rdparty_in1k",  # the MobileViT stages of the ImageNet-1k classifier
    pretrained_keys="backbone",
)
train = dict(ema_decay=0.9995)
