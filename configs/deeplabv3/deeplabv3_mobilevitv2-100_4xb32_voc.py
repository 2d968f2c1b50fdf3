# DeepLabv3-MobileViTv2-1.0 on PASCAL VOC 2012 (train_aug), 4 GPUs x 32 images: ml-cvnets' recipe of
# its published weights (config/segmentation/pascal_voc/deeplabv3_mobilevitv2.yaml): output stride
# 16, an ASPP of 512 channels with rates 6/12/18 and dropout 0.1, the auxiliary head on stage 4 at
# loss weight 0.4 (training only), the backbone started from the ImageNet-1k weights.
# The published widths 0.5, 1.25 and 1.5 follow the same recipe: set model.arch and model.pretrained
# (--cfg-options "model.arch=v2_050" "model.pretrained=mobilevitv2-050_3rdparty_in1k").
#   torchrun --nproc-per-node 4 tools/train.py configs/deeplabv3/deeplabv3_mobilevitv2-100_4xb32_voc.py
#   mobilevit test configs/deeplabv3/deeplabv3_mobilevitv2-100_4xb32_voc.py work_dirs/deeplabv3_mobilevitv2-100_4xb32_voc/best.pth
_base_ = [
    "../_base_/datasets/voc_aug_bs32_mobilevitv2.py",
    "../_base_/schedules/voc_bs128_adamw_cosine_50e_mobilevitv2.py",
    "../_base_/default_runtime.py",
]
task = "segmentation"
model = dict(
    arch="v2_100",
    num_classes=21,
    head="deeplabv3",
    output_stride=16,
    atrous_rates=(6, 12, 18),
    aspp_channels=512,
    aspp_dropout=0.1,
    dropout=0.0,  # ml-cvnets v0.2's DeepLabv3 has its one dropout in the ASPP
    aux_loss_weight=0.4,
    pretrained="mobilevitv2-100_3rdparty_in1k",
    pretrained_keys="backbone",
)
