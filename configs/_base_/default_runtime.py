# How runs are carried out: mixed precision (bfloat16; 'float16' uses a gradient scaler on CUDA),
# an EMA of the weights (decay 0.9995) that is evaluated and kept as best.pth, a checkpoint every
# epoch and latest.pth every 1000 steps, automatic resume from the work dir's latest.pth.
train = dict(
    device="auto",
    amp="bfloat16",
    ema=True,
    ema_decay=0.9995,
    seed=0,
    accumulate=1,
    log_interval=50,
    val_interval=1,
    checkpoint_interval=1,
    checkpoint_steps=1000,
    keep_checkpoints=3,
    auto_resume=True,
    progress_bar=True,
)
