# MobileViT-Small on ImageNet-1k, 8 GPUs x 128 images, the recipe of the published weights.
#   python tools/train.py configs/mobilevit/mobilevit-small_8xb128_in1k.py
#   torchrun --nproc-per-node 8 tools/train.py configs/mobilevit/mobilevit-small_8xb128_in1k.py
_base_ = [
    "../_base_/models/mobilevit-small.py",
    "../_base_/datasets/imagenet_bs128_mobilevit.py",
    "../_base_/schedules/imagenet_bs1024_adamw_cosine.py",
    "../_base_/default_runtime.py",
]
