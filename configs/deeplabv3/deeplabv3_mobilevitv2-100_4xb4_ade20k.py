# DeepLabv3-MobileViTv2-1.0 on ADE20k, 4 GPUs x 4 images: ml-cvnets' recipe of its published weights
# (config/segmentation/ade20k/deeplabv3_mobilevitv2.yaml): output stride 8, an ASPP of 512 channels with rates 12/24/36 and dropout 0.1,
# the auxiliary head on stage 4 at loss weight 0.4 (training only), the backbone started from the
# ImageNet-1k weights. The published widths 0.5 to 2.0 follow the same recipe: set model.arch and
# model.pretrained (--cfg-options "model.arch=v2_050" "model.pretrained=mobilevitv2-050_3rdparty_in1k").
#   torchrun --nproc-per-node 4 tools/train.py configs/deeplabv3/deeplabv3_mobilevitv2-100_4xb4_ade20k.py
#   mobilevit test configs/deeplabv3/deeplabv3_mobilevitv2-100_4xb4_ade20k.py work_dirs/deeplabv3_mobilevitv2-100_4xb4_ade20k/best.pth
_base_ = [
    "../_base_/datasets/ade20k_bs4_mobilevitv2.py",
    "../_base_/schedules/ade20k_bs16_sgd_cosine_120e_mobilevitv2.py",
    "../_base_/default_runtime.py",
]
task = "segmentation"
model = dict(
    arch="v2_100",
    num_classes=150,
    head="deeplabv3",
    output_stride=8,
    atrous_rates=(12, 24, 36),
    aspp_channels=512,
    aspp_dropout=0.1,
    dropout=0.0,  # ml-cvnets v0.2's DeepLabv3 has its one dropout in the ASPP
    aux_loss_weight=0.4,
    pretrained="mobilevitv2-100_3rdparty_in1k",
    pretrained_keys="backbone",
)
