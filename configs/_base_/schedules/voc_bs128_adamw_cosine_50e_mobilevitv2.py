# The schedule of ml-cvnets' MobileViT v2 segmenters on PASCAL VOC (4 GPUs x 32 images = 128 per
# step): AdamW with weight decay 0.05, warm-up from 5e-5 to 5e-4 over 500 steps, then a cosine down
# to 1e-6 over 50 epochs; gradient norm clipped at 10; an EMA of the weights (momentum 5e-4),
# evaluated and kept as best.pth by mIoU. ml-cvnets exempts BatchNorm and bias parameters from the
# weight decay, which our trainer does not yet. On fewer GPUs keep the effective batch with
# train.accumulate (1 GPU: train.accumulate=4).
optim = dict(lr=0.0005, weight_decay=0.05, betas=(0.9, 0.999), eps=1e-8, clip_grad=10.0)
schedule = dict(epochs=50, warmup_iters=500, warmup_start_lr=0.00005, min_lr=0.000001)
train = dict(ema=True, ema_decay=0.9995)
