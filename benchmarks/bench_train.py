"""Training-step speed and peak memory of mobilevit beside timm, on one machine in one run.

One step is forward, cross-entropy, backward and an AdamW update, in train mode. Both models carry
the same weights (timm's random initialisation, converted by ``mobilevit.convert``); the
``grad checkpointing`` path is ours with ``set_grad_checkpointing()``. Steps of the
paths run interleaved after a warm-up step; figures are medians. On a GPU the step runs under
bfloat16 autocast. Peak memory: ``torch.cuda.max_memory_allocated`` on a GPU; on the CPU the growth
of the process's peak resident set over two steps, each path measured in a fresh process
(tracemalloc does not see torch's allocations).

    python benchmarks/bench_train.py --out benchmarks/results/train.json
    python benchmarks/bench_train.py --variants xxs --batch 8 --size 160 --rounds 3   # under a minute
    python benchmarks/bench_train.py --variants xxs --keep-freed-memory   # glibc set as `mobilevit train` sets it
"""

from __future__ import annotations

import argparse
import copy
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from common import (
    add_keep_freed_memory_option,
    apply_keep_freed_memory_option,
    interleaved_medians,
    machine,
    markdown_table,
    write_json,
)
from mobilevit.convert import to_mobilevit
from mobilevit.models import build_classifier

VARIANTS = {"xxs": ("xx_small", "mobilevit_xxs"), "xs": ("x_small", "mobilevit_xs"), "s": ("small", "mobilevit_s")}
PATHS = ("timm", "timm channels_last", "mobilevit", "mobilevit channels_last", "mobilevit grad checkpointing")


def build_models(variant: str) -> dict[str, nn.Module]:
    """The four paths' models, in train mode, all with the same weights."""
    import timm

    arch, timm_name = VARIANTS[variant]
    timm_model = timm.create_model(timm_name, pretrained=False)
    ours = build_classifier(arch)
    ours.load_state_dict(to_mobilevit(timm_model.state_dict(), "timm"))
    checkpointed = copy.deepcopy(ours)
    checkpointed.set_grad_checkpointing()
    return {
        "timm": timm_model,
        "timm channels_last": copy.deepcopy(timm_model).to(memory_format=torch.channels_last),
        "mobilevit": ours,
        "mobilevit channels_last": copy.deepcopy(ours).to(memory_format=torch.channels_last),
        "mobilevit grad checkpointing": checkpointed,
    }


def make_step(model: nn.Module, path: str, batch: int, size: int, device: torch.device) -> Callable[[], None]:
    """One training step of ``model`` on a fixed random batch."""
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(batch, 3, size, size, generator=generator).to(device)
    if path.endswith("channels_last"):
        images = images.contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, 1000, (batch,), generator=generator).to(device)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    return step


def peak_memory_mb(variant: str, path: str, batch: int, size: int, device: torch.device) -> float:
    """Peak memory of training steps beyond what the model and its batch hold before them."""
    model = build_models(variant)[path]
    step = make_step(model, path, batch, size, device)
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


def cpu_peak_memory_mb(variant: str, path: str, batch: int, size: int, keep_memory: bool) -> float:
    """:func:`peak_memory_mb` in a fresh process, so that no earlier path's peak hides this one's."""
    command = [sys.executable, __file__, "--memory-of", variant, path, "--batch", str(batch), "--size", str(size)]
    if keep_memory:
        command.append("--keep-freed-memory")
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def measure_variant(
    variant: str, batch: int, size: int, rounds: int, device: torch.device, keep_memory: bool
) -> list[dict]:
    models = build_models(variant)
    steps = {path: make_step(model, path, batch, size, device) for path, model in models.items()}
    seconds = interleaved_medians(steps, rounds, warmup=1)
    rows = []
    for path in PATHS:
        memory = (
            peak_memory_mb(variant, path, batch, size, device)
            if device.type == "cuda"
            else cpu_peak_memory_mb(variant, path, batch, size, keep_memory)
        )
        rows.append(
            {
                "variant": variant,
                "path": path,
                "step_ms": seconds[path] * 1e3,
                "images_per_second": batch / seconds[path],
                "peak_memory_mb": memory,
            }
        )
    return rows


def report(rows: list[dict]) -> str:
    """The markdown table, with our paths' ratio to the faster timm path."""
    lines = []
    for variant in dict.fromkeys(row["variant"] for row in rows):
        variant_rows = [row for row in rows if row["variant"] == variant]
        best_timm = max(row["images_per_second"] for row in variant_rows if row["path"].startswith("timm"))
        for row in variant_rows:
            ratio = f"{row['images_per_second'] / best_timm:.2f}x" if row["path"].startswith("mobilevit") else ""
            lines.append(
                [
                    variant,
                    row["path"],
                    f"{row['step_ms']:.0f}",
                    f"{row['images_per_second']:.1f}",
                    f"{row['peak_memory_mb']:.0f}",
                    ratio,
                ]
            )
    headers = ["variant", "path", "step (ms)", "images/s", "peak memory (MiB)", "vs faster timm path"]
    return markdown_table(headers, lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--batch", type=int, default=32, help="images per step (default 32)")
    parser.add_argument("--size", type=int, default=256, help="image side (default 256)")
    parser.add_argument("--rounds", type=int, default=5, help="timed steps per path (default 5)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    add_keep_freed_memory_option(parser, "train")
    parser.add_argument("--memory-of", nargs=2, metavar=("VARIANT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    allocator = apply_keep_freed_memory_option(parser, args)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if args.memory_of:  # the child process of cpu_peak_memory_mb
        print(peak_memory_mb(*args.memory_of, args.batch, args.size, device))
        return
    rows = []
    for variant in args.variants:
        rows += measure_variant(variant, args.batch, args.size, args.rounds, device, args.keep_freed_memory)
    precision = "bfloat16 autocast" if device.type == "cuda" else "float32"
    print(
        f"one training step, batch {args.batch} at {args.size}x{args.size}, {precision}, "
        f"{device.type} ({args.threads} threads{allocator})\n"
    )
    print(report(rows))
    if args.out:
        write_json(
            args.out,
            {
                "machine": machine(),
                "device": device.type,
                "batch": args.batch,
                "size": args.size,
                "rounds": args.rounds,
                "keep_freed_memory": args.keep_freed_memory,
                "results": rows,
            },
        )


if __name__ == "__main__":
    main()
