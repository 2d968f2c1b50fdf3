# MobileViT-Small on ImageNet-1k, 8 GPUs x 128 images.
_base_ = ["../_base_/models/mobilevit-small.py"]
