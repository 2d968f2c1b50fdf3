# MobileViT-XXSmall on ImageNet-1k, 8 GPUs x 128 images.
_base_ = ["../_base_/models/mobilevit-xxsmall.py"]
