"""Training-step speed and peak memory of mobilevit beside timm, on one machine in one run.

One step is forward, cross-entropy, backward and an AdamW update, in train mode. Both models carry
the same weights (timm's random initialisation, converted by ``mobilevit.convert``). Each side has
its own trainer's optimizer: timm's ``create_optimizer_v2('adamw')``, ours ``mobilevit train``'s
(:func:`mobilevit.engine.trainer.build_optimizer`). The ``grad checkpointing`` path is ours with
``set_grad_checkpointing()``; ``compiled`` (``--compile``) is ours under ``torch.compile`` as
``train.compile=True`` runs it, its compile time reported apart. Steps of the paths run interleaved
after a warm-up step; figures are medians. ``--amp bfloat16`` runs every step under bfloat16
autocast (as ``mobilevit train`` does by default, ``train.amp``); on a GPU it is the default.
``--sizes`` measures several of the variable batch sampler's shapes, the batch scaled to keep the
pixels of ``--batch`` images at 256. Peak memory: ``torch.cuda.max_memory_allocated`` on a GPU; on the CPU the growth
of the process's peak resident set over two steps, each path measured in a fresh process
(tracemalloc does not see torch's allocations).

``--as-shipped`` compares each side as its own training command runs it: ours on the default path
of ``mobilevit train`` (as built, fused AdamW, glibc's malloc set to keep freed memory), timm's
paths with timm's optimizer and glibc's defaults, which timm's ``train.py`` leaves alone. The
allocator is a setting of the whole process, so each side runs in a process of its own and the two
take turns in blocks of ``--block`` rounds.

``--ops`` times each PyTorch operator of our step and of timm channels_last's instead (CPU only):
milliseconds and calls per step, the rate of the products and convolutions (GFLOP/s, and its share
of the faster of a large matrix product and a large convolution, measured in the same run) and of
the memory each operator touches (GB/s, beside a copy's), so what is far from the machine's limits
shows.

    python benchmarks/bench_train.py --out benchmarks/results/train.json
    python benchmarks/bench_train.py --variants xxs --batch 8 --size 160 --rounds 3   # under a minute
    python benchmarks/bench_train.py --variants xxs --keep-freed-memory   # glibc set as `mobilevit train` sets it
    python benchmarks/bench_train.py --variants xxs s --as-shipped --amp bfloat16   # each side as its command runs
    python benchmarks/bench_train.py --variants xxs --amp none --ops --keep-freed-memory   # where a step goes
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import flop_registry

from common import (
    add_keep_freed_memory_option,
    apply_keep_freed_memory_option,
    convolution_peak_gflops,
    copy_gb_per_s,
    interleaved_medians,
    machine,
    markdown_table,
    matmul_peak_gflops,
    write_json,
)
from mobilevit.config import OptimConfig
from mobilevit.convert import to_mobilevit
from mobilevit.engine.allocator import keep_freed_memory
from mobilevit.engine.trainer import build_optimizer, compile_for_training
from mobilevit.models import build_classifier

VARIANTS = {
    "xxs": ("xx_small", "mobilevit_xxs"),
    "xs": ("x_small", "mobilevit_xs"),
    "s": ("small", "mobilevit_s"),
    "v2-100": ("v2_100", "mobilevitv2_100"),
}
TIMM_LAYOUTS = {"v2-100": "timm_v2"}  # the converter of each variant's timm weights (v1: "timm")
OPS_PATHS = ("mobilevit", "timm channels_last")  # --ops: ours and the faster timm path
OPS_ROWS = 12  # --ops: the slowest operators listed, the rest summed in one row
PATHS = ("timm", "timm channels_last", "mobilevit", "mobilevit channels_last", "mobilevit grad checkpointing")
COMPILED = "mobilevit compiled"
# --as-shipped: each side's paths, and whether its training command keeps freed memory
SHIPPED_SIDES = {"mobilevit": (("mobilevit",), True), "timm": (("timm", "timm channels_last"), False)}


def amp_flag(amp: torch.dtype | None) -> str:
    """``--amp``'s value for ``amp``: what a child process is given and what the JSON records."""
    return "bfloat16" if amp is not None else "none"


def build_models(variant: str, compiled: bool = False) -> dict[str, nn.Module]:
    """The paths' models, in train mode, all with the same weights."""
    import timm

    arch, timm_name = VARIANTS[variant]
    timm_model = timm.create_model(timm_name, pretrained=False)
    ours = build_classifier(arch)
    ours.load_state_dict(to_mobilevit(timm_model.state_dict(), TIMM_LAYOUTS.get(variant, "timm")))
    checkpointed = copy.deepcopy(ours)
    checkpointed.set_grad_checkpointing()
    return {
        "timm": timm_model,
        "timm channels_last": copy.deepcopy(timm_model).to(memory_format=torch.channels_last),
        "mobilevit": ours,
        "mobilevit channels_last": copy.deepcopy(ours).to(memory_format=torch.channels_last),
        "mobilevit grad checkpointing": checkpointed,
        **({COMPILED: copy.deepcopy(ours)} if compiled else {}),
    }


def make_step(
    model: nn.Module, path: str, batch: int, size: int, device: torch.device, amp: torch.dtype | None
) -> Callable[[], None]:
    """One training step of ``model`` on a fixed random batch, with its side's optimizer."""
    import timm.optim

    model.to(device).train()
    if path.startswith("timm"):
        optimizer = timm.optim.create_optimizer_v2(model, "adamw", lr=1e-3, weight_decay=0.01)
    else:
        optimizer = build_optimizer([{"params": list(model.parameters())}], OptimConfig(lr=1e-3, weight_decay=0.01))
    forward = compile_for_training(model) if path == COMPILED else model
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(batch, 3, size, size, generator=generator).to(device)
    if path.endswith("channels_last"):
        images = images.contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, 1000, (batch,), generator=generator).to(device)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=amp or torch.bfloat16, enabled=amp is not None):
            loss = F.cross_entropy(forward(images), labels)
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    return step


def peak_memory_mb(
    variant: str, path: str, batch: int, size: int, device: torch.device, amp: torch.dtype | None
) -> float:
    """Peak memory of training steps (under ``amp`` autocast, if given) beyond what the model and its
    batch hold before them."""
    model = build_models(variant)[path]
    step = make_step(model, path, batch, size, device, amp)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        for _ in range(2):
            step()
        return (torch.cuda.max_memory_allocated() - before) / 2**20
    before = peak_resident_mb()
    for _ in range(2):
        step()
    return peak_resident_mb() - before


def peak_resident_mb() -> float:
    """This process's peak resident set so far.

    Linux's ``VmHWM`` where there is one: a child process's ``ru_maxrss`` starts from its parent's
    resident set at the fork, which would hide the child's own peak.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**10  # in kB
    unit = 1 if sys.platform == "darwin" else 2**10  # ru_maxrss counts bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit / 2**20


def cpu_peak_memory_mb(
    variant: str, path: str, batch: int, size: int, keep_memory: bool, amp: torch.dtype | None
) -> float:
    """:func:`peak_memory_mb` in a fresh process, so that no earlier path's peak hides this one's."""
    command = [sys.executable, __file__, "--memory-of", variant, path, "--batch", str(batch), "--size", str(size)]
    command += ["--amp", amp_flag(amp)]
    if keep_memory:
        command.append("--keep-freed-memory")
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def measure_variant(
    variant: str,
    batch: int,
    size: int,
    rounds: int,
    device: torch.device,
    keep_memory: bool,
    amp: torch.dtype | None,
    compiled: bool,
    memory: bool,
) -> list[dict]:
    models = build_models(variant, compiled)
    steps = {path: make_step(model, path, batch, size, device, amp) for path, model in models.items()}
    compile_seconds = None
    if compiled:  # the first call compiles; timed apart from the steps
        started = time.perf_counter()
        steps[COMPILED]()
        compile_seconds = time.perf_counter() - started
    seconds = interleaved_medians(steps, rounds, warmup=1)
    rows = []
    for path in steps:
        row = {
            "variant": variant,
            "size": size,
            "batch": batch,
            "path": path,
            "step_ms": seconds[path] * 1e3,
            "images_per_second": batch / seconds[path],
        }
        if memory and path != COMPILED:
            row["peak_memory_mb"] = (
                peak_memory_mb(variant, path, batch, size, device, amp)
                if device.type == "cuda"
                else cpu_peak_memory_mb(variant, path, batch, size, keep_memory, amp)
            )
        if path == COMPILED:
            row["compile_seconds"] = compile_seconds
        rows.append(row)
    return rows


def serve_steps(variant: str, side: str, batch: int, size: int, device: torch.device, amp: torch.dtype | None) -> None:
    """The worker of :func:`measure_as_shipped`: for each line ``WARMUP ROUNDS`` read from stdin,
    run the side's steps that many rounds, interleaved, and print their seconds as one JSON line."""
    paths, keep = SHIPPED_SIDES[side]
    if keep and not keep_freed_memory():
        raise SystemExit("--as-shipped needs Linux with glibc (mobilevit train keeps freed memory there)")
    models = build_models(variant)
    steps = {path: make_step(models[path], path, batch, size, device, amp) for path in paths}
    for line in sys.stdin:
        warmup, rounds = map(int, line.split())
        for _ in range(warmup):
            for step in steps.values():
                step()
        seconds: dict[str, list[float]] = {path: [] for path in steps}
        for _ in range(rounds):
            for path, step in steps.items():
                began = time.perf_counter()
                step()
                seconds[path].append(time.perf_counter() - began)
        print(json.dumps(seconds), flush=True)


def measure_as_shipped(
    variant: str, batch: int, size: int, rounds: int, block: int, amp: torch.dtype | None, threads: int
) -> list[dict]:
    """Medians of each side's steps, each side in its own process set as its training command sets
    it, the processes taking turns in blocks of ``block`` rounds (one warm-up round each turn)."""
    workers = {}
    for side in SHIPPED_SIDES:
        command = [sys.executable, __file__, "--serve", variant, side, "--batch", str(batch), "--size", str(size)]
        command += ["--threads", str(threads), "--amp", amp_flag(amp)]
        workers[side] = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    seconds: dict[str, list[float]] = defaultdict(list)
    try:
        for start in range(0, rounds, block):
            for side, worker in workers.items():
                worker.stdin.write(f"1 {min(block, rounds - start)}\n")
                worker.stdin.flush()
                answer = worker.stdout.readline()
                if not answer:
                    raise RuntimeError(f"the {side} worker stopped (exit code {worker.wait()})")
                for path, samples in json.loads(answer).items():
                    seconds[path] += samples
    finally:
        for worker in workers.values():
            worker.stdin.close()
            worker.wait()
    kept = {path for paths, keep in SHIPPED_SIDES.values() if keep for path in paths}
    return [
        {
            "variant": variant,
            "size": size,
            "batch": batch,
            "path": path,
            "freed_memory_kept": path in kept,
            "step_ms": statistics.median(samples) * 1e3,
            "images_per_second": batch / statistics.median(samples),
        }
        for path, samples in seconds.items()
    ]


def shape_of(row: dict) -> tuple[str, int, int]:
    """The variant, image side and batch a result row was measured at."""
    return row["variant"], row["size"], row["batch"]


def faster_timm_ratios(rows: list[dict]) -> list[float | None]:
    """Each of our rows' images/s over the faster timm path's at the same shape (None for timm's rows)."""
    best_timm: dict[tuple, float] = {}
    for row in rows:
        if row["path"].startswith("timm"):
            best_timm[shape_of(row)] = max(best_timm.get(shape_of(row), 0.0), row["images_per_second"])
    return [
        row["images_per_second"] / best_timm[shape_of(row)] if row["path"].startswith("mobilevit") else None
        for row in rows
    ]


def report(rows: list[dict]) -> str:
    """The markdown table, with our paths' ratio to the faster timm path of the same shape."""
    shapes = {shape: order for order, shape in enumerate(dict.fromkeys(map(shape_of, rows)))}
    lines = []
    # grouped by shape, in the order each shape first comes
    for row, ratio in sorted(zip(rows, faster_timm_ratios(rows)), key=lambda pair: shapes[shape_of(pair[0])]):
        variant, size, batch = shape_of(row)
        lines.append(
            [
                variant,
                f"{batch}x{size}x{size}",
                row["path"],
                f"{row['step_ms']:.0f}",
                f"{row['images_per_second']:.1f}",
                f"{row['peak_memory_mb']:.0f}" if "peak_memory_mb" in row else "",
                "" if ratio is None else f"{ratio:.2f}x",
            ]
        )
    headers = ["variant", "batch", "path", "step (ms)", "images/s", "peak memory (MiB)", "vs faster timm path"]
    return markdown_table(headers, lines)


class OperatorTimes(TorchDispatchMode):
    """Per PyTorch operator run under it: seconds, calls, useful FLOPs, and the bytes of the tensors
    it is given and returns (each counted once; none for views). Each call is timed whole: CPU only."""

    def __init__(self) -> None:
        super().__init__()
        self.totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0, 0, 0])

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        began = time.perf_counter()
        out = func(*args, **kwargs)
        seconds = time.perf_counter() - began
        totals = self.totals[str(func.overloadpacket)]
        totals[0] += seconds
        totals[1] += 1
        totals[2] += operator_flops(func, args, kwargs, out)
        if not func.is_view:  # a view moves no data
            totals[3] += sum(leaf.nbytes for leaf in tree_leaves((args, out)) if isinstance(leaf, torch.Tensor))
        return out


# PyTorch's CPU flash attention, which its FLOP formulas lack: the query's index among the
# arguments, and the FLOPs per query row, key and channel (forward 2 products, backward 4)
CPU_FLASH_ATTENTION = {
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: (0, 4),
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward: (1, 8),
}


def operator_flops(func, args: tuple, kwargs: dict, out: object) -> int:
    """The useful FLOPs of one operator call (matrix products, convolutions, attention; else 0)."""
    packet = func.overloadpacket
    if packet in flop_registry:
        return flop_registry[packet](*args, **kwargs, out_val=out)
    if packet in CPU_FLASH_ATTENTION:
        index, per_element = CPU_FLASH_ATTENTION[packet]
        query, key = args[index], args[index + 1]
        return per_element * query.shape[:-1].numel() * key.shape[-2] * query.shape[-1]
    return 0


def operator_table(step: Callable[[], None], rounds: int) -> tuple[float, list[dict]]:
    """ms per step under :class:`OperatorTimes` over ``rounds`` steps (after one untimed), and each
    operator's ms and calls per step, GFLOP/s and GB/s, slowest first."""
    step()
    times = OperatorTimes()
    began = time.perf_counter()
    with times:
        for _ in range(rounds):
            step()
    step_ms = (time.perf_counter() - began) / rounds * 1e3
    rows = [
        {
            "operator": name,
            "ms": seconds / rounds * 1e3,
            "calls": calls / rounds,
            "gflop_per_s": flops / seconds / 1e9 if flops and seconds else None,
            "gb_per_s": tensor_bytes / seconds / 1e9 if tensor_bytes and seconds else None,
        }
        for name, (seconds, calls, flops, tensor_bytes) in times.totals.items()
    ]
    return step_ms, sorted(rows, key=lambda row: -row["ms"])


def report_operators(step_ms: float, rows: list[dict], peak_gflops: float) -> str:
    """The markdown table of :func:`operator_table`: the slowest operators, then the rest summed."""
    shown, rest = rows[:OPS_ROWS], rows[OPS_ROWS:]
    lines = [
        [
            row["operator"],
            f"{row['ms']:.1f}",
            f"{100 * row['ms'] / step_ms:.1f} %",
            f"{row['calls']:.0f}",
            "" if row["gflop_per_s"] is None else f"{row['gflop_per_s']:.0f} ({row['gflop_per_s'] / peak_gflops:.0%})",
            "" if row["gb_per_s"] is None else f"{row['gb_per_s']:.1f}",
        ]
        for row in shown
    ]
    rest_ms = sum(row["ms"] for row in rest)
    lines.append([f"{len(rest)} others", f"{rest_ms:.1f}", f"{100 * rest_ms / step_ms:.1f} %", "", "", ""])
    headers = ["operator", "ms a step", "share", "calls", "GFLOP/s (of the peak)", "GB/s"]
    return markdown_table(headers, lines)


def measure_operators(
    variant: str, batch: int, size: int, rounds: int, amp: torch.dtype | None, peak_gflops: float
) -> list[dict]:
    """:func:`operator_table` of each of :data:`OPS_PATHS`, printed as it comes."""
    models = build_models(variant)
    results = []
    for path in OPS_PATHS:
        step_ms, rows = operator_table(make_step(models[path], path, batch, size, torch.device("cpu"), amp), rounds)
        print(f"\n{variant} at {batch}x{size}x{size}, {path}: {step_ms:.0f} ms a step under the operator timer\n")
        print(report_operators(step_ms, rows, peak_gflops))
        results.append(
            {"variant": variant, "size": size, "batch": batch, "path": path, "step_ms": step_ms, "operators": rows}
        )
    return results


def sampler_batch(batch: int, size: int) -> int:
    """The variable batch sampler's batch at ``size`` for ``batch`` images at 256 (pixels kept)."""
    return max(1, batch * 256 * 256 // (size * size))


def measured_shapes(args: argparse.Namespace) -> Iterator[tuple[str, int, int]]:
    """Each variant, batch and image side the arguments ask for (``--sizes``: the sampler's batches)."""
    for variant in args.variants:
        for size in args.sizes or [args.size]:
            yield variant, sampler_batch(args.batch, size) if args.sizes else args.batch, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--batch", type=int, default=32, help="images per step (default 32)")
    parser.add_argument("--size", type=int, default=256, help="image side (default 256)")
    parser.add_argument(
        "--sizes", type=int, nargs="+", help="image sides to measure in turn, the batch scaled as the sampler scales it"
    )
    parser.add_argument("--amp", choices=("none", "bfloat16"), help="autocast type (default: bfloat16 on a GPU)")
    parser.add_argument("--compile", action="store_true", help="add our path under torch.compile (train.compile)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurements")
    parser.add_argument("--rounds", type=int, default=5, help="timed steps per path (default 5)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    add_keep_freed_memory_option(parser, "train")
    parser.add_argument(
        "--as-shipped",
        action="store_true",
        help="each side in its own process, set as its training command sets it (see the module's docstring)",
    )
    parser.add_argument("--block", type=int, default=1, help="--as-shipped: rounds per turn of a side (default 1)")
    parser.add_argument(
        "--ops", action="store_true", help="time each operator of our step and timm channels_last's instead (CPU)"
    )
    parser.add_argument("--memory-of", nargs=2, metavar=("VARIANT", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--serve", nargs=2, metavar=("VARIANT", "SIDE"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    allocator = apply_keep_freed_memory_option(parser, args)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    amp = None if args.amp == "none" else torch.bfloat16 if args.amp or device.type == "cuda" else None
    if args.memory_of:  # the child process of cpu_peak_memory_mb
        print(peak_memory_mb(*args.memory_of, args.batch, args.size, device, amp))
        return
    if args.serve:  # a worker of measure_as_shipped
        serve_steps(*args.serve, args.batch, args.size, device, amp)
        return
    if args.as_shipped and (args.keep_freed_memory or args.compile or device.type != "cpu"):
        parser.error("--as-shipped compares CPU processes as shipped: no --keep-freed-memory, --compile or GPU")
    if args.ops:
        if args.as_shipped or args.compile or device.type != "cpu":
            parser.error("--ops times the operators of one CPU process: no --as-shipped, --compile or GPU")
        run_operators(args, amp, allocator)
        return
    rows = []
    for variant, batch, size in measured_shapes(args):
        if args.as_shipped:
            rows += measure_as_shipped(variant, batch, size, args.rounds, args.block, amp, args.threads)
            continue
        rows += measure_variant(
            variant,
            batch,
            size,
            args.rounds,
            device,
            args.keep_freed_memory,
            amp,
            args.compile,
            not args.no_memory,
        )
    precision = "bfloat16 autocast" if amp else "float32"
    if args.as_shipped:
        allocator = ", each side in its own process: ours with freed memory kept, timm's with glibc's defaults"
    print(f"one training step, {precision}, {device.type} ({args.threads} threads{allocator})\n")
    print(report(rows))
    for row in rows:
        if "compile_seconds" in row:
            print(
                f"{row['variant']} at {row['batch']}x{row['size']}: torch.compile took {row['compile_seconds']:.1f} s"
            )
    if args.out:
        write_json(
            args.out,
            {
                "machine": machine(),
                "device": device.type,
                "amp": amp_flag(amp),
                "rounds": args.rounds,
                "keep_freed_memory": args.keep_freed_memory,
                "as_shipped": args.as_shipped,
                "results": rows,
            },
        )


def run_operators(args: argparse.Namespace, amp: torch.dtype | None, allocator: str) -> None:
    """``--ops``: the operator tables of every variant and size, beside the machine's limits."""
    kind = "bf16" if amp else "fp32"
    product, convolution = matmul_peak_gflops(precision=kind), convolution_peak_gflops(precision=kind)
    peak_gflops = max(product, convolution)
    bandwidth = copy_gb_per_s()
    precision = "bfloat16 autocast" if amp else "float32"
    print(f"each operator of a training step, {precision}, cpu ({args.threads} threads{allocator})")
    print(
        f"the machine in {kind}: {product:.0f} GFLOP/s in a large matrix product, {convolution:.0f} in a large "
        f"convolution (the faster is the peak below), {bandwidth:.1f} GB/s in a copy"
    )
    results = []
    for variant, batch, size in measured_shapes(args):
        results += measure_operators(variant, batch, size, args.rounds, amp, peak_gflops)
    if args.out:
        write_json(
            args.out,
            {
                "machine": machine(),
                "amp": amp_flag(amp),
                "rounds": args.rounds,
                "keep_freed_memory": args.keep_freed_memory,
                "matmul_peak_gflops": product,
                "convolution_peak_gflops": convolution,
                "copy_gb_per_s": bandwidth,
                "operators": results,
            },
        )


if __name__ == "__main__":
    main()
