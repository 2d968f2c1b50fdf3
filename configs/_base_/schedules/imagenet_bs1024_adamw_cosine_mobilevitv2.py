# The schedule of the published MobileViT v2 weights (8 GPUs x 128 images = 1024 per step): AdamW,
# warm-up from 1e-6 over 20,000 steps, then a cosine to min_lr over 300 epochs, gradient norm clipped
# at 10, EMA of momentum 0.0005. The learning rate and weight decay depend on the width (the configs
# of configs/mobilevitv2/ set them). On fewer GPUs keep the effective batch with train.accumulate.
optim = dict(lr=0.0075, weight_decay=0.013, betas=(0.9, 0.999), eps=1e-8, clip_grad=10.0)
schedule = dict(epochs=300, warmup_iters=20000, warmup_start_lr=1e-6, min_lr=0.00075)
train = dict(ema=True, ema_decay=0.9995)
