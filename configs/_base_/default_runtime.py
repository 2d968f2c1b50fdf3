# How runs are carried out. Every shipped recipe runs with the defaults of `train` in
# mobilevit.config.TrainConfig, written there once: mixed precision (bfloat16; 'float16' uses a
# gradient scaler on CUDA), an EMA of the weights (decay 0.9995) that is evaluated and kept as
# best.pth, a checkpoint every epoch and latest.pth every 1000 steps, automatic resume from the work
# dir's latest.pth. Set here only what a recipe changes, e.g. train = dict(amp="none").
