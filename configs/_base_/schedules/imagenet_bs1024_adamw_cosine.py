# The schedule of the published MobileViT weights (8 GPUs x 128 images = 1024 per step at 256x256):
# AdamW with weight decay 0.01 on every parameter, warm-up from 2e-4 to 2e-3 over 3000 steps, then
# a cosine down to 2e-4 over 300 epochs. On fewer GPUs, keep the effective batch with
# train.accumulate (e.g. 2 GPUs: train.accumulate=4).
optim = dict(lr=0.002, weight_decay=0.01, betas=(0.9, 0.999), eps=1e-8, clip_grad=0.0)
schedule = dict(epochs=300, warmup_iters=3000, warmup_start_lr=0.0002, min_lr=0.0002)
