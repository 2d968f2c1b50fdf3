# PSPNet-MobileViTv2-1.0 on ADE20k, 4 GPUs x 4 images: ml-cvnets' recipe of its published weights
# (config/segmentation/ade20k/pspnet_mobilevitv2.yaml): output stride 8, the pyramid pooled to
# 1/2/3/6 and fused to 512 channels, Dropout2d 0.1, the auxiliary head on stage 4 at loss weight 0.4
# (training only), the backbone started from the ImageNet-1k weights. The published widths 0.5 to
# 1.75 follow the same recipe: set model.arch and model.pretrained (--cfg-options "model.arch=v2_050" "model.pretrained=mobilevitv2-050_3rdparty_in1k").
#   torchrun --nproc-per-node 4 tools/train.py configs/pspnet/pspnet_mobilevitv2-100_4xb4_ade20k.py
#   mobilevit test configs/pspnet/pspnet_mobilevitv2-100_4xb4_ade20k.py work_dirs/pspnet_mobilevitv2-100_4xb4_ade20k/best.pth
_base_ = [
    "../_base_/datasets/ade20k_bs4_mobilevitv2.py",
    "../_base_/schedules/ade20k_bs16_sgd_cosine_120e_mobilevitv2.py",
    "../_base_/default_runtime.py",
]
task = "segmentation"
model = dict(
    arch="v2_100",
    num_classes=150,
    head="pspnet",
    output_stride=8,
    pool_sizes=(1, 2, 3, 6),
    psp_channels=512,
    dropout=0.1,
    aux_loss_weight=0.4,
    pretrained="mobilevitv2-100_3rdparty_in1k",
    pretrained_keys="backbone",
)
