# DeepLabv3-MobileViT on PASCAL VOC's 21 classes, as ml-cvnets v0.1 built the published weights:
# output stride 16, ASPP rates 6/12/18 with 256 channels and dropout 0.1, Dropout2d 0.1 before the
# classifier; the backbone starts from ImageNet weights (each variant's config names them) and the
# EMA weights are evaluated and kept as best.pth by mIoU. Each variant sets arch, drop_rate and
# pretrained.
task = "segmentation"
model = dict(
    num_classes=21,
    output_stride=16,
    atrous_rates=(6, 12, 18),
    aspp_channels=256,
    aspp_dropout=0.1,
    dropout=0.1,
    pretrained_keys="backbone",
)
train = dict(ema=True, ema_decay=0.9995)
