# The schedule of ml-cvnets' MobileViT v2 segmenters on ADE20k (4 GPUs x 4 images = 16 per step): SGD
# with momentum 0.9 and weight decay 1e-4, a cosine from 0.02 down to 2e-4 over 120 epochs (no
# warm-up); gradient norm clipped at 10; an EMA of the weights (momentum 5e-4), evaluated and kept as
# best.pth by mIoU. ml-cvnets exempts BatchNorm and bias parameters from the weight decay, which our
# trainer does not yet. On fewer GPUs keep the effective batch with train.accumulate.
optim = dict(name="sgd", lr=0.02, momentum=0.9, weight_decay=0.0001, clip_grad=10.0)
schedule = dict(epochs=120, warmup_iters=0, min_lr=0.0002)
train = dict(ema=True, ema_decay=0.9995)
