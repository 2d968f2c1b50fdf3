# MobileViT v2, width 0.5, on ImageNet-1k, 8 GPUs x 128 images: ml-cvnets' recipe of the published weights
# (ml-cvnets' MobileViT v2 ImageNet yaml), with its learning rate and weight decay for this width.
#   torchrun --nproc-per-node 8 tools/train.py configs/mobilevitv2/mobilevitv2-050_8xb128_in1k.py
# Not yet in our trainer: mixup (0.2), CutMix (1.0), RandAugment, random erasing (0.25) and the
# exemption of BatchNorm and bias parameters from weight decay, all part of that recipe.
_base_ = [
    "../_base_/datasets/imagenet_bs128_mobilevitv2.py",
    "../_base_/schedules/imagenet_bs1024_adamw_cosine_mobilevitv2.py",
    "../_base_/default_runtime.py",
]
model = dict(arch="v2_050", num_classes=1000, label_smoothing=0.1)
optim = dict(lr=0.009, weight_decay=0.004)
schedule = dict(min_lr=0.0009)
