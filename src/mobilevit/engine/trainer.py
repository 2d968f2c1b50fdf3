"""Training: :func:`main` runs epochs of :func:`train_one_epoch` and :func:`evaluate` for any task.

The recipe of the published weights: AdamW, linear warm-up then cosine, an EMA of the weights,
mixed precision; the task (:mod:`mobilevit.tasks`) gives the model, the data, the loss and the
metric that picks ``best.pth``. In one process or under torchrun (one process per GPU, or gloo
processes on CPU); checkpoints let a stopped run continue exactly where it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import signal
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..config import Config, OptimConfig, to_dict
from ..data.sampler import mixed_seed
from ..errors import DivergedError, UsageError
from ..tasks import LossFunction, Task, get_task
from . import distributed
from .checkpointing import (
    Checkpointer,
    TrainingRun,
    TrainState,
    check_finite_weights,
    check_same_model,
    find_resume_checkpoint,
    restore,
    write_config,
)
from .distributed import DistributedContext
from .ema import ModelEma
from .evaluator import evaluate, to_device
from .finetune import describe_parameter_groups, fit_to_classes, load_pretrained, parameter_groups
from .fitting import fit_to_machine, fit_to_steps, steps_per_epoch
from .interrupt import StopRequest, interrupted
from .run_lock import hold_work_dir
from .run_log import RunLog
from .schedule import LearningRateSchedule, set_learning_rate


@dataclass(frozen=True)
class LoopSettings:
    """How :func:`train_one_epoch` runs: where, in which precision, how batches make steps, what it logs."""

    context: DistributedContext
    amp_dtype: torch.dtype | None  # None: full precision
    accumulate: int  # batches per optimizer step
    clip_grad: float  # max gradient norm; 0: no clipping
    log_interval: int  # optimizer steps between log lines
    progress_bar: bool
    log: RunLog
    clock: RunClock


class RunClock:
    """The time left of a whole run, from the pace of its steps since this process started it."""

    def __init__(self, first_step: int, total_steps: int) -> None:
        self.first_step, self.total_steps = first_step, total_steps
        self.started = time.perf_counter()

    def eta(self, step: int) -> str:
        """The time the run's remaining steps take at the pace so far, as H:MM:SS ('?' before a step)."""
        done = step - self.first_step
        if done <= 0:
            return "?"
        seconds = (time.perf_counter() - self.started) / done * max(self.total_steps - step, 0)
        minutes, seconds = divmod(round(seconds), 60)
        return f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}"


def main(config: Config, resume: str | os.PathLike | None = None) -> nn.Module:
    """Train the model ``config`` describes and return it with its last weights.

    ``resume`` names a checkpoint to continue from; without it the run continues from
    ``<train.work_dir>/latest.pth`` when that exists and ``train.auto_resume`` is on.

    Ctrl-C (SIGINT) or SIGTERM stops the run at its next optimizer step with ``latest.pth``
    written there and raises ``KeyboardInterrupt`` (see :func:`~mobilevit.engine.interrupt.interrupted`).
    """
    context = distributed.setup(config.train.device)
    try:
        # one run per work dir (an unset work_dir is refused by _train)
        with (
            hold_work_dir(Path(config.train.work_dir), context) if config.train.work_dir else contextlib.nullcontext(),
            StopRequest() as stop,
        ):
            return _train(config, context, resume, stop)
    finally:
        distributed.cleanup()


def _train(
    config: Config, context: DistributedContext, resume: str | os.PathLike | None, stop: StopRequest
) -> nn.Module:
    task = get_task(config.task)
    if not config.train.work_dir:
        raise UsageError("train.work_dir is not set: name the folder for the run's logs and checkpoints")
    work_dir = Path(config.train.work_dir)
    log = RunLog(work_dir, context.is_main, config.train.tensorboard)
    config = _fitted(config, log, fit_to_machine(config))
    pin_memory = context.device.type == "cuda"
    data = task.build_data(config, True, context.world_size, context.rank, pin_memory)
    config = dataclasses.replace(config, model=fit_to_classes(config.model, data.class_names, config.data.root))
    epoch_steps = steps_per_epoch(data.train.batch_sampler.num_batches, config.train.accumulate)
    config = _fitted(config, log, fit_to_steps(config, epoch_steps))
    settings = config.train
    amp_dtype = autocast_dtype(settings.amp, context.device)

    torch.manual_seed(settings.seed)  # the same initial weights in every process
    model = task.build_model(config, training=True).to(context.device)
    found = find_resume_checkpoint(work_dir, resume, settings.auto_resume, log.info)
    if found is None and config.model.pretrained:  # a resumed run has its weights in the checkpoint
        for line in load_pretrained(model, config.model.pretrained, config.model.pretrained_keys).describe():
            log.info(line)
    groups = parameter_groups(model, config.optim)
    log.info(describe_parameter_groups(model, groups))
    optimizer = build_optimizer(groups, config.optim)
    run = TrainingRun(
        model,
        ModelEma(model, settings.ema_decay) if settings.ema else None,
        optimizer,
        torch.amp.GradScaler(context.device.type, enabled=settings.amp == "float16"),
    )
    schedule = LearningRateSchedule(
        config.optim.lr,
        config.schedule.min_lr,
        config.schedule.epochs,
        config.schedule.warmup_iters,
        config.schedule.warmup_start_lr,
    )
    checkpointer = Checkpointer(work_dir, to_dict(config), context, settings.keep_checkpoints)
    torch.manual_seed(mixed_seed(settings.seed, 1 + context.rank))  # dropout differs between processes

    if found is not None:
        _resume(run, *found, context, log, checkpointer.config)
    if context.is_main:
        write_config(work_dir / "config.json", checkpointer.config)
    shapes = [tuple(shape) for shape in data.train.batch_sampler.shapes]
    log.info(
        f"{task.name}: {data.description}; {context.world_size} process(es) on {context.device}; "
        f"batch shapes (height, width, batch per process): {shapes}"
    )

    state = run.state
    loop = LoopSettings(
        context,
        amp_dtype,
        settings.accumulate,
        config.optim.clip_grad,
        settings.log_interval,
        settings.progress_bar,
        log,
        RunClock(state.step, config.schedule.epochs * epoch_steps),
    )
    loss_function = task.loss_function(config)
    train_model: nn.Module = model
    if settings.compile:
        log.info(f"train.compile: the first step of each of the {len(shapes)} batch shapes compiles the model")
        train_model = compile_for_training(model)
    if context.world_size > 1:
        device_ids = [context.device.index] if context.device.type == "cuda" else None
        train_model = DistributedDataParallel(train_model, device_ids=device_ids)  # compiled or not
    while state.epoch < config.schedule.epochs:
        if settings.max_steps and state.step >= settings.max_steps:
            log.info(f"train.max_steps={settings.max_steps} steps are done")
            return model
        data.train.batch_sampler.set_epoch(state.epoch, state.batch_in_epoch)
        with contextlib.closing(train_one_epoch(run, train_model, data.train, loss_function, schedule, loop)) as steps:
            for _ in steps:
                if settings.max_steps and state.step >= settings.max_steps:
                    checkpointer.save(["latest.pth"], run)
                    log.info(
                        f"stopped at train.max_steps={settings.max_steps}; to continue, run again with a "
                        "larger train.max_steps or none"
                    )
                    return model
                mid_epoch = state.batch_in_epoch < data.train.batch_sampler.num_batches
                if stop.requested(context) and mid_epoch:  # the last step of an epoch goes on to its end
                    checkpointer.save(["latest.pth"], run)
                    raise _interrupted(stop, state, work_dir, log)
                if settings.checkpoint_steps and state.step % settings.checkpoint_steps == 0 and mid_epoch:
                    checkpointer.save(["latest.pth"], run)
        state.epoch += 1
        state.batch_in_epoch = 0
        distributed.broadcast_buffers(model)
        check_finite_weights(run, work_dir)  # a diverged model is neither scored nor saved
        names = ["latest.pth"]
        if state.epoch % settings.checkpoint_interval == 0:
            names.append(f"epoch_{state.epoch}.pth")
        if state.epoch % settings.val_interval == 0 or state.epoch == config.schedule.epochs:
            if _validate(task, config, run, data.val, context.device, log):
                names.append("best.pth")
        checkpointer.save(names, run)
        if state.epoch < config.schedule.epochs and stop.requested(context):  # at the end of an epoch
            raise _interrupted(stop, state, work_dir, log)
    log.info(
        f"done: {state.epoch} epochs, {state.step} steps, best {task.best_metric} {state.best_score:.2f}; "
        f"checkpoints in {work_dir}"
    )
    return model


def _fitted(config: Config, log: RunLog, fitted: tuple[Config, list[str]]) -> Config:
    """The fitted config of :mod:`~mobilevit.engine.fitting`, its changes logged."""
    for line in fitted[1]:
        log.info(line)
    return fitted[0]


def _interrupted(stop: StopRequest, state: TrainState, work_dir: Path, log: RunLog) -> KeyboardInterrupt:
    """The exception that ends a run stopped by a signal, the way to resume it logged."""
    name = signal.Signals(stop.signal_number).name
    where = (
        f"at epoch {state.epoch + 1}, batch {state.batch_in_epoch}"
        if state.batch_in_epoch
        else f"after epoch {state.epoch}"
    )
    line = (
        f"stopped by {name} {where}, step {state.step}, with {work_dir / 'latest.pth'} written: "
        "run the same command again to continue from there"
    )
    log.info(line)
    return interrupted(line, stop.signal_number)


def _resume(
    run: TrainingRun, path: Path, checkpoint: dict, context: DistributedContext, log: RunLog, config: dict
) -> None:
    """Continue ``run`` from ``checkpoint`` (read from ``path``); the log drops what it writes anew."""
    check_same_model(checkpoint, run.model, config, path)
    restore(checkpoint, run, context, path)
    state = run.state
    log.info(f"resumed from {path}: epoch {state.epoch + 1}, batch {state.batch_in_epoch}, step {state.step}")
    dropped = log.rewind(state.step, state.epoch)
    if dropped:
        log.info(f"dropped {dropped} records after step {state.step} from log.jsonl: this run writes them anew")
    if checkpoint["world_size"] != context.world_size:
        log.info(
            f"the checkpoint was written by {checkpoint['world_size']} process(es), this run has "
            f"{context.world_size}: the rest of this epoch is drawn anew, with fresh random states"
        )


def _validate(
    task: Task, config: Config, run: TrainingRun, loader: DataLoader, device: torch.device, log: RunLog
) -> bool:
    """Evaluate the model (and its EMA, whose score then counts); True when the score is a new best."""
    bar = "validation" if config.train.progress_bar and log.enabled else None
    metrics = evaluate(run.model, loader, device, task.evaluator(config, device), bar)
    log.record("val", epoch=run.state.epoch, **metrics.log_values())
    if run.ema is not None:
        distributed.broadcast_buffers(run.ema.module)
        metrics = evaluate(run.ema.module, loader, device, task.evaluator(config, device), bar and "validation (EMA)")
        log.record("val_ema", epoch=run.state.epoch, **metrics.log_values())
    score = getattr(metrics, task.best_metric)
    if not math.isfinite(score) or score <= run.state.best_score:
        return False
    run.state.best_score = score
    return True


def train_one_epoch(
    run: TrainingRun,
    model: nn.Module,
    loader: DataLoader,
    loss_function: LossFunction,
    schedule: LearningRateSchedule,
    loop: LoopSettings,
) -> Iterator[None]:
    """Train on the loader's batches (the rest of epoch ``run.state.epoch``), yielding after each
    optimizer step (the caller may checkpoint or stop there).

    ``model`` is ``run.model``, perhaps wrapped in DistributedDataParallel. An optimizer step
    follows every ``loop.accumulate`` batches and at the end of the epoch.
    """
    state, context = run.state, loop.context
    num_batches = loader.batch_sampler.num_batches
    model.train()
    # disable=None: no bar where stderr is not a terminal, so redirected logs get no carriage-return updates
    bar = tqdm(
        loader,
        desc=f"epoch {state.epoch + 1}",
        unit="batch",
        dynamic_ncols=True,
        disable=None if context.is_main and loop.progress_bar else True,
    )
    meter = EpochMeter(loop.log, context.world_size)
    with contextlib.closing(bar):
        for batch in meter.timed(bar):
            first_batch_of_step = state.batch_in_epoch
            state.batch_in_epoch += 1
            ends_step = state.batch_in_epoch % loop.accumulate == 0 or state.batch_in_epoch == num_batches
            meter.add_batch(batch.skipped, len(batch.images))
            batch = to_device(batch, context.device)
            loss_value = _backward(model, batch, loss_function, run.scaler, loop, sync=ends_step)
            if loss_value != loss_value or abs(loss_value) == float("inf"):
                raise DivergedError(
                    f"the loss is {loss_value} at epoch {state.epoch + 1}, batch {state.batch_in_epoch} "
                    f"(images {tuple(batch.images.shape)}); try train.amp='bfloat16' or a lower optim.lr"
                )
            if not ends_step:
                continue

            learning_rate = schedule(state.step, state.epoch + first_batch_of_step / num_batches)
            optimizer_step(run, learning_rate, loop.clip_grad)
            meter.add_step(loss_value)
            bar.set_postfix(
                loss=f"{loss_value:.3f}",
                lr=f"{learning_rate:.2e}",
                images_per_s=f"{meter.rate():.0f}",
                run_eta=loop.clock.eta(state.step),
            )
            if state.step % loop.log_interval == 0:
                meter.record_steps(state, f"{state.batch_in_epoch}/{num_batches}", learning_rate, batch.images.shape)
            try:
                yield
            except GeneratorExit:  # the caller stops the run here (train.max_steps)
                meter.report_skipped()
                raise
    meter.record_epoch(state, loop.clock.eta(state.step))


BatchT = TypeVar("BatchT")


class EpochMeter:
    """What :func:`train_one_epoch` logs: throughput, the loss and the seconds per optimizer step
    (and of them, waiting for batches) over the steps since the last ``train`` record, and the
    images skipped (every process's, gathered when reported)."""

    def __init__(self, log: RunLog, world_size: int) -> None:
        self.log, self.world_size = log, world_size
        self.started = time.perf_counter()
        self.interval_started = self.started  # of the steps since the last train record
        self.data_seconds = 0.0  # waiting for batches since the last train record
        self.images = 0  # of every process
        self.skipped = 0  # reported so far
        self.unreported: list[str] = []  # this process's skipped images since the last report
        self.losses: list[float] = []  # since the last train record

    def timed(self, batches: Iterable[BatchT]) -> Iterator[BatchT]:
        """``batches``, with the time spent waiting for each added to the data time."""
        iterator = iter(batches)
        while True:
            began = time.perf_counter()
            batch = next(iterator, None)
            self.data_seconds += time.perf_counter() - began
            if batch is None:
                return
            yield batch

    def add_batch(self, skipped: list[str], num_images: int) -> None:
        self.unreported += skipped
        self.images += num_images * self.world_size

    def add_step(self, loss: float) -> None:
        self.losses.append(loss)

    def rate(self) -> float:
        """Images per second since the epoch began, over every process."""
        return self.images / (time.perf_counter() - self.started)

    def report_skipped(self) -> None:
        """A collective: every process calls it at the same steps."""
        self.skipped += report_skipped(self.log, self.unreported)

    def record_steps(self, state: TrainState, batch: str, learning_rate: float, shape: torch.Size) -> None:
        """Report the skipped images, then a ``train`` record of the steps since the last one."""
        self.report_skipped()
        now, steps = time.perf_counter(), len(self.losses)
        self.log.record(
            "train",
            epoch=state.epoch + 1,
            batch=batch,
            step=state.step,
            lr=learning_rate,
            loss=sum(self.losses) / steps,
            images_per_s=round(self.rate(), 1),
            step_time=round((now - self.interval_started) / steps, 4),
            data_time=round(self.data_seconds / steps, 4),
            shape=f"{shape[0]}x{shape[2]}x{shape[3]}",
        )
        self.losses.clear()
        self.interval_started, self.data_seconds = now, 0.0

    def record_epoch(self, state: TrainState, run_eta: str) -> None:
        """Report the skipped images, then the ``epoch`` record (with the time the run's other epochs take)."""
        self.report_skipped()
        seconds = time.perf_counter() - self.started
        self.log.record(
            "epoch",
            epoch=state.epoch + 1,
            steps=state.step,
            images_per_s=round(self.images / seconds, 1),
            minutes=round(seconds / 60, 2),
            skipped_images=self.skipped,
            run_eta=run_eta,
        )


def report_skipped(log: RunLog, reasons: list[str]) -> int:
    """Log the images every process skipped since the last report and empty ``reasons``; returns
    how many there were. A collective: every process calls it at the same steps."""
    gathered = [reason for part in distributed.all_gather_objects(list(reasons)) for reason in part]
    for reason in gathered:
        log.info(f"skipped an unreadable image: {reason}")
    reasons.clear()
    return len(gathered)


def _backward(
    model: nn.Module,
    batch: tuple,
    loss_function: LossFunction,
    scaler: torch.amp.GradScaler,
    loop: LoopSettings,
    sync: bool,
) -> float:
    """Forward and backward of one batch (scaled for accumulation); returns the loss. Gradients are
    only averaged across processes (DDP) on the batch that ends an optimizer step."""
    no_sync = isinstance(model, DistributedDataParallel) and not sync
    with model.no_sync() if no_sync else contextlib.nullcontext():
        dtype = loop.amp_dtype or torch.float32
        with torch.autocast(loop.context.device.type, dtype=dtype, enabled=loop.amp_dtype is not None):
            output = model(batch.images)
        loss = loss_function(output, batch)
        scaler.scale(loss / loop.accumulate).backward()
    return loss.item()


def compile_for_training(model: nn.Module) -> nn.Module:
    """``model`` under ``torch.compile`` for training steps (``train.compile``): one graph per batch
    shape, as many as the variable batch sampler has, and its parameters still ``model``'s own."""
    import torch._dynamo

    # a graph per batch shape, more than the default limit of recompilations when the sampler has many
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 16)
    return torch.compile(model, dynamic=False)


def optimizer_step(run: TrainingRun, learning_rate: float, clip_grad: float) -> None:
    """One optimizer step at ``learning_rate`` (times each parameter group's ``lr_mult``) on the accumulated gradients (clipped to norm
    ``clip_grad`` when > 0), then the EMA update; counts the step in ``run.state``."""
    optimizer, scaler = run.optimizer, run.scaler
    set_learning_rate(optimizer, learning_rate)
    if clip_grad > 0:
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(run.model.parameters(), clip_grad)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    run.state.step += 1
    if run.ema is not None:
        run.ema.update(run.model)


def build_optimizer(groups: list[dict], optim: OptimConfig) -> torch.optim.Optimizer:
    """AdamW, or SGD with momentum (``optim.name``), over the parameter groups. AdamW runs as one
    fused kernel per step where PyTorch has one for the parameters' device and type (CPU and CUDA,
    float32 and the half types), a loop over each tensor otherwise."""
    if optim.name == "sgd":
        return torch.optim.SGD(groups, lr=optim.lr, momentum=optim.momentum, weight_decay=optim.weight_decay)
    parameters = [parameter for group in groups for parameter in group["params"]]
    fused = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in parameters)
    return torch.optim.AdamW(
        groups,
        lr=optim.lr,
        betas=optim.betas,
        eps=optim.eps,
        weight_decay=optim.weight_decay,
        fused=fused or None,
    )


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The mixed-precision type of ``train.amp`` on ``device`` (None: full precision)."""
    if amp == "none":
        return None
    if amp == "float16" and device.type != "cuda":
        raise UsageError("train.amp='float16' needs a CUDA device (for its gradient scaler); use 'bfloat16' or 'none'")
    if amp == "bfloat16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise UsageError(f"{torch.cuda.get_device_name(device)} has no bfloat16; use train.amp='float16'")
    return torch.bfloat16 if amp == "bfloat16" else torch.float16
