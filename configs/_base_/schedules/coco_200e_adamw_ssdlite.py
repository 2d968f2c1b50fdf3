# The schedule of the published SSDLite-MobileViT weights (4 GPUs x 32 images = 128 per step):
# AdamW with weight decay 0.01 on every parameter, warm-up from 9e-5 to 9e-4 over 500 steps, then
# a cosine down to 1e-6 over 200 epochs; an EMA of the weights (momentum 5e-4). On fewer GPUs,
# keep the effective batch with train.accumulate (e.g. 1 GPU: train.accumulate=4).
optim = dict(lr=0.0009, weight_decay=0.01, betas=(0.9, 0.999), eps=1e-8, clip_grad=0.0)
schedule = dict(epochs=200, warmup_iters=500, warmup_start_lr=0.00009, min_lr=0.000001)
