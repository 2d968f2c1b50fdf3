# Fine-tune the official MobileViT-XXSmall ImageNet weights on your own images, one GPU (or CPU),
# a folder per class (see docs/fine-tuning.md):
#   data/custom/train/<class>/*.jpg   data/custom/val/<class>/*.jpg
#   mobilevit train configs/mobilevit/mobilevit-xxsmall_finetune_custom.py --cfg-options data.root=data/custom
# The number of classes is that of the class folders. The ImageNet head (1000 classes) is left
# out and a new one starts from random weights, at 10x the backbone's learning rate; train.log
# says what was loaded and what was skipped.
# What the defaults assume: a few hundred to a few thousand training images. 300 images make
# 5 to 9 steps an epoch (batches of 32 at 256x256 and above, up to 82 at the variable sampler's
# smaller sizes), 30 epochs about 200 steps. A run shorter than twice the warm-up has its
# warm-up cut to half of its steps and data.num_workers is cut to the CPU cores, each said in
# train.log; with tens of thousands of images, raise data.batch_size and train.ema_decay.
_base_ = [
    "../_base_/datasets/imagenet_bs128_mobilevit.py",
    "../_base_/schedules/imagenet_bs1024_adamw_cosine.py",
    "../_base_/default_runtime.py",
]
model = dict(
    arch="xx_small",
    pretrained="mobilevit-xxsmall_3rdparty_in1k",  # a zoo name, a file, a directory or an http(s) URL
    pretrained_keys="",  # '' all that fits; 'backbone' only backbone.* (e.g. from a segmentation checkpoint)
    frozen_stages=-1,  # e.g. 2: keep the stem and stages 1-2 as they are (small data sets)
    dropout=0.1,
    drop_rate=0.05,
    label_smoothing=0.1,
)
data = dict(
    kind="folder",
    root="data/custom",
    batch_size=32,
    val_batch_size=64,
    num_workers=4,
    # the variable batch sampler of the recipe; the published weights expect BGR in [0, 1] at 256
)
# A tenth of the ImageNet learning rate for the backbone, the new head at 10x that; a warm-up of
# 50 steps and a cosine over 30 epochs.
optim = dict(lr=0.0002, weight_decay=0.01, head_lr_mult=10.0, backbone_lr_mult=1.0)
schedule = dict(epochs=30, warmup_iters=50, warmup_start_lr=0.00002, min_lr=0.00001)
# An EMA of about the last 20 steps (as the demo's), which a run of a few hundred steps leaves
# behind: the ImageNet decay 0.9995 averages ~2000 steps and would still hold the initial head
# when the run ends. A line of train.log every 10 steps.
train = dict(ema_decay=0.95, checkpoint_steps=500, log_interval=10)
