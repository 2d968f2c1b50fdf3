"""Training: :func:`main` runs epochs of :func:`train_one_epoch` and :func:`evaluate`.

The recipe of the published weights: AdamW, linear warm-up then cosine, label smoothing, an EMA
of the weights, mixed precision, random resized crops at the sizes of the variable batch
sampler. In one process or under torchrun (one process per GPU, or gloo processes on CPU);
checkpoints let a stopped run continue exactly where it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..config import Config, TrainConfig, build_model, to_dict
from ..data.datasets import find_images, read_class_names
from ..data.loader import batch_shapes, build_eval_loader, build_train_loader
from ..data.sampler import mixed_seed
from ..models import ImageClassifier
from . import distributed
from .allocator import keep_freed_memory
from .checkpointing import (
    Checkpointer, TrainState, check_same_model, read_training_checkpoint, restore, write_config,
)
from .distributed import DistributedContext
from .ema import ModelEma
from .evaluator import Metrics, evaluate
from .finetune import describe_parameter_groups, fit_to_classes, load_pretrained, parameter_groups
from .run_log import RunLog
from .schedule import LearningRateSchedule, set_learning_rate


def main(config: Config, resume: str | os.PathLike | None = None) -> ImageClassifier:
    """Train the model ``config`` describes and return it with its last weights.

    ``resume`` names a checkpoint to continue from; without it the run continues from
    ``<train.work_dir>/latest.pth`` when that exists and ``train.auto_resume`` is on.
    """
    if config.train.keep_freed_memory:
        keep_freed_memory()
    context = distributed.setup(config.train.device)
    try:
        return _train(config, context, resume)
    finally:
        distributed.cleanup()


def _train(config: Config, context: DistributedContext, resume: str | os.PathLike | None) -> ImageClassifier:
    settings, data = config.train, config.data
    work_dir = Path(settings.work_dir or "work_dirs/mobilevit")
    classes = read_class_names(data.classes, data.root) if data.classes else ()
    train_images = find_images(data.kind, data.root, data.train_split, data.train_annotation, classes)
    val_images = find_images(data.kind, data.root, data.val_split, data.val_annotation, train_images.class_names)
    config = dataclasses.replace(config, model=fit_to_classes(config.model, train_images.class_names, data.root))
    num_classes = len(train_images.class_names)
    amp_dtype = autocast_dtype(settings.amp, context.device)

    torch.manual_seed(settings.seed)  # the same initial weights in every process
    model = build_model(config).to(context.device)
    log = RunLog(work_dir, context.is_main)
    latest = work_dir / "latest.pth"
    if resume is None and settings.auto_resume and latest.is_file():
        resume = latest
    if resume is None and config.model.pretrained:  # a resumed run has its weights in the checkpoint
        for line in load_pretrained(model, config.model.pretrained, config.model.pretrained_keys).describe():
            log.info(line)
    ema = ModelEma(model, settings.ema_decay) if settings.ema else None
    groups = parameter_groups(model, config.optim)
    log.info(describe_parameter_groups(model, groups))
    optimizer = torch.optim.AdamW(
        groups, lr=config.optim.lr, betas=config.optim.betas, eps=config.optim.eps,
        weight_decay=config.optim.weight_decay)
    scaler = torch.amp.GradScaler(context.device.type, enabled=settings.amp == "float16")
    schedule = LearningRateSchedule(
        config.optim.lr, config.schedule.min_lr, config.schedule.epochs, config.schedule.warmup_iters,
        config.schedule.warmup_start_lr)
    pin_memory = context.device.type == "cuda"
    train_loader = build_train_loader(data, train_images, settings.seed, context.world_size, context.rank, pin_memory)
    val_loader = build_eval_loader(data, val_images, context.world_size, context.rank, pin_memory)
    checkpointer = Checkpointer(work_dir, to_dict(config), context, settings.keep_checkpoints)
    torch.manual_seed(mixed_seed(settings.seed, 1 + context.rank))  # dropout differs between processes

    state = TrainState()
    if resume is not None:
        checkpoint = read_training_checkpoint(resume)
        check_same_model(checkpoint, model, checkpointer.config, Path(resume))
        state = restore(checkpoint, model, ema, optimizer, scaler, context)
        log.info(f"resumed from {resume}: epoch {state.epoch + 1}, batch {state.batch_in_epoch}, step {state.step}")
        if checkpoint["world_size"] != context.world_size:
            log.info(f"the checkpoint was written by {checkpoint['world_size']} process(es), this run has "
                     f"{context.world_size}: the rest of this epoch is drawn anew, with fresh random states")
    if context.is_main:
        write_config(work_dir / "config.json", checkpointer.config)
    shapes = [tuple(shape) for shape in batch_shapes(data, context.world_size)]
    log.info(
        f"training on {len(train_images.samples)} images of {num_classes} classes, validating on "
        f"{len(val_images.samples)}; {context.world_size} process(es) on {context.device}; "
        f"batch shapes (height, width, batch per process): {shapes}")

    train_model: nn.Module = model
    if context.world_size > 1:
        device_ids = [context.device.index] if context.device.type == "cuda" else None
        train_model = DistributedDataParallel(model, device_ids=device_ids)
    while state.epoch < config.schedule.epochs:
        if settings.max_steps and state.step >= settings.max_steps:
            log.info(f"train.max_steps={settings.max_steps} steps are done")
            return model
        train_loader.batch_sampler.set_epoch(state.epoch, state.batch_in_epoch)
        finished = train_one_epoch(
            train_model, ema, train_loader, optimizer, scaler, schedule, state, settings,
            config.optim.clip_grad, amp_dtype, context, log, checkpointer)
        if not finished:
            return model
        state.epoch += 1
        state.batch_in_epoch = 0
        distributed.broadcast_buffers(model)
        names = ["latest.pth"]
        if state.epoch % settings.checkpoint_interval == 0:
            names.append(f"epoch_{state.epoch}.pth")
        if state.epoch % settings.val_interval == 0 or state.epoch == config.schedule.epochs:
            metrics = evaluate(model, val_loader, context.device, num_classes)
            log_metrics(log, "val", state.epoch, metrics)
            if ema is not None:
                distributed.broadcast_buffers(ema.module)
                metrics = evaluate(ema.module, val_loader, context.device, num_classes)
                log_metrics(log, "val_ema", state.epoch, metrics)
            if metrics.top1 > state.best_top1:
                state.best_top1 = metrics.top1
                names.append("best.pth")
        checkpointer.save(names, model, ema, optimizer, scaler, state)
    log.info(f"done: {state.epoch} epochs, {state.step} steps, best top-1 {state.best_top1:.2f}; "
             f"checkpoints in {work_dir}")
    return model


def train_one_epoch(
    model: nn.Module,
    ema: ModelEma | None,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    schedule: LearningRateSchedule,
    state: TrainState,
    settings: TrainConfig,
    clip_grad: float,
    amp_dtype: torch.dtype | None,
    context: DistributedContext,
    log: RunLog,
    checkpointer: Checkpointer,
) -> bool:
    """Train on the loader's batches (the rest of epoch ``state.epoch``), updating ``state``.

    ``model`` may be wrapped in DistributedDataParallel. An optimizer step follows every
    ``settings.accumulate`` batches. Returns False when ``settings.max_steps`` stopped the epoch
    early (after writing ``latest.pth``).
    """
    network: nn.Module = model.module if isinstance(model, DistributedDataParallel) else model
    num_batches = loader.batch_sampler.num_batches
    model.train()
    # disable=None: no bar where stderr is not a terminal, so redirected logs get no carriage-return updates
    bar = tqdm(loader, desc=f"epoch {state.epoch + 1}", unit="batch", dynamic_ncols=True,
               disable=None if context.is_main and settings.progress_bar else True)
    started, images_done, skipped = time.perf_counter(), 0, 0
    interval_loss, interval_steps = 0.0, 0
    for batch in bar:
        first_batch_of_step = state.batch_in_epoch
        state.batch_in_epoch += 1
        ends_step = state.batch_in_epoch % settings.accumulate == 0 or state.batch_in_epoch == num_batches
        for reason in batch.skipped:
            log.info(f"skipped an unreadable image: {reason}")
        skipped += len(batch.skipped)
        images = batch.images.to(context.device, non_blocking=True)
        labels = batch.labels.to(context.device, non_blocking=True)
        no_sync = isinstance(model, DistributedDataParallel) and not ends_step
        with model.no_sync() if no_sync else contextlib.nullcontext():
            with torch.autocast(context.device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                logits = model(images)
            loss = F.cross_entropy(logits.float(), labels, label_smoothing=network.label_smoothing)
            scaler.scale(loss / settings.accumulate).backward()
        loss_value = loss.item()
        if loss_value != loss_value or abs(loss_value) == float("inf"):
            raise FloatingPointError(
                f"the loss is {loss_value} at epoch {state.epoch + 1}, batch {state.batch_in_epoch} "
                f"(images {tuple(images.shape)}); try train.amp='bfloat16' or a lower optim.lr")
        images_done += len(labels) * context.world_size
        if not ends_step:
            continue

        learning_rate = schedule(state.step, state.epoch + first_batch_of_step / num_batches)
        set_learning_rate(optimizer, learning_rate)
        if clip_grad > 0:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(network.parameters(), clip_grad)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        state.step += 1
        if ema is not None:
            ema.update(network)

        interval_loss, interval_steps = interval_loss + loss_value, interval_steps + 1
        throughput = images_done / (time.perf_counter() - started)
        bar.set_postfix(loss=f"{loss_value:.3f}", lr=f"{learning_rate:.2e}", images_per_s=f"{throughput:.0f}")
        if state.step % settings.log_interval == 0:
            log.record(
                "train", epoch=state.epoch + 1, batch=f"{state.batch_in_epoch}/{num_batches}", step=state.step,
                lr=learning_rate, loss=interval_loss / interval_steps, images_per_s=round(throughput, 1),
                shape=f"{images.shape[0]}x{images.shape[2]}x{images.shape[3]}")
            interval_loss, interval_steps = 0.0, 0
        if settings.max_steps and state.step >= settings.max_steps:
            checkpointer.save(["latest.pth"], network, ema, optimizer, scaler, state)
            bar.close()
            log.info(f"stopped at train.max_steps={settings.max_steps}; to continue, run again with a larger "
                     "train.max_steps or none")
            return False
        mid_epoch = state.batch_in_epoch < num_batches
        if settings.checkpoint_steps and state.step % settings.checkpoint_steps == 0 and mid_epoch:
            checkpointer.save(["latest.pth"], network, ema, optimizer, scaler, state)
    bar.close()
    seconds = time.perf_counter() - started
    log.record("epoch", epoch=state.epoch + 1, steps=state.step, images_per_s=round(images_done / seconds, 1),
               minutes=round(seconds / 60, 2), skipped_images=skipped)
    return True


def log_metrics(log: RunLog, kind: str, epoch: int, metrics: Metrics) -> None:
    """One log line of evaluation results."""
    top5 = {} if metrics.top5 is None else {"top5": round(metrics.top5, 3)}  # only for more than 5 classes
    log.record(kind, epoch=epoch, top1=round(metrics.top1, 3), **top5, images=metrics.count,
               skipped_images=len(metrics.skipped))


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The mixed-precision type of ``train.amp`` on ``device`` (None: full precision)."""
    if amp == "none":
        return None
    if amp == "float16" and device.type != "cuda":
        raise ValueError("train.amp='float16' needs a CUDA device (for its gradient scaler); use 'bfloat16' or 'none'")
    if amp == "bfloat16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError(f"{torch.cuda.get_device_name(device)} has no bfloat16; use train.amp='float16'")
    return torch.bfloat16 if amp == "bfloat16" else torch.float16
