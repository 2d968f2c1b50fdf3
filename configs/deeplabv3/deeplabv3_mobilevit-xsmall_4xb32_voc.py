# DeepLabv3-MobileViT-XSmall on PASCAL VOC 2012 (train_aug), 4 GPUs x 32 images, the recipe of the
# published weights (ml-cvnets v0.1): output stride 16, ASPP rates 6/12/18 with 256 channels, the
# backbone started from the ImageNet weights, EMA weights evaluated and kept as best.pth by mIoU.
#   torchrun --nproc-per-node 4 tools/train.py configs/deeplabv3/deeplabv3_mobilevit-xsmall_4xb32_voc.py
#   mobilevit test configs/deeplabv3/deeplabv3_mobilevit-xsmall_4xb32_voc.py work_dirs/deeplabv3_mobilevit-xsmall_4xb32_voc/best.pth
_base_ = [
    "../_base_/models/deeplabv3_mobilevit.py",
    "../_base_/datasets/voc_aug_bs32_deeplabv3.py",
    "../_base_/schedules/voc_bs128_adamw_cosine_50e.py",
    "../_base_/default_runtime.py",
]
model = dict(arch="x_small", drop_rate=0.1, pretrained="mobilevit-xsmall_3rdparty_in1k")
