"""Helpers shared by the benchmark scripts: interleaved timing, the machine's matmul peak and copy rate, tables."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from mobilevit.engine.allocator import keep_freed_memory


def interleaved_medians(calls: dict[str, Callable[[], object]], rounds: int, warmup: int = 2) -> dict[str, float]:
    """Median seconds per call of each entry.

    Every round calls each entry once in turn, so a slow spell of a shared machine hits all of
    them alike; ``warmup`` untimed rounds come first.
    """
    return alternating_medians([calls], rounds, block=rounds, warmup=warmup)


def alternating_medians(
    groups: Sequence[dict[str, Callable[[], object]]], rounds: int, block: int, warmup: int = 2
) -> dict[str, float]:
    """Median seconds per call of each entry of groups that must not be interleaved call by call.

    Within a group the entries are interleaved as in :func:`interleaved_medians`. The groups take
    turns in blocks of ``block`` timed rounds, each block after ``warmup`` untimed rounds, so that
    a slow spell of a shared machine falls on every group alike, while one group's calls never
    follow the other's directly (runtimes whose worker threads spin after a call slow down the next
    runtime's calls by up to two times).
    """
    times: dict[str, list[float]] = {name: [] for calls in groups for name in calls}
    for start in range(0, rounds, block):
        for calls in groups:
            for _ in range(warmup):
                for call in calls.values():
                    call()
            for _ in range(min(block, rounds - start)):
                for name, call in calls.items():
                    began = time.perf_counter()
                    call()
                    times[name].append(time.perf_counter() - began)
    return {name: statistics.median(samples) for name, samples in times.items()}


def matmul_peak_gflops(size: int = 2048, rounds: int = 5, precision: str = "fp32") -> float:
    """The machine's compute rate in ``precision`` (fp32, bf16 or int8) as a large matrix product
    achieves it in PyTorch (int8: ``torch._int_mm``, int32 sums), in GFLOP/s (GOP/s for int8)."""
    if precision == "int8":
        left = torch.randint(-128, 128, (size, size), dtype=torch.int8)
        right = torch.randint(-128, 128, (size, size), dtype=torch.int8)
        product: Callable[[], object] = lambda: torch._int_mm(left, right)  # noqa: E731
    else:
        dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        left, right = torch.rand(size, size, dtype=dtype), torch.rand(size, size, dtype=dtype)
        product = lambda: left @ right  # noqa: E731
    seconds = interleaved_medians({"matmul": product}, rounds, warmup=1)["matmul"]
    return 2 * size**3 / seconds / 1e9


def convolution_peak_gflops(rounds: int = 5, precision: str = "fp32") -> float:
    """The machine's compute rate in ``precision`` (fp32 or bf16) as a large 3x3 convolution (oneDNN,
    channels-last) achieves it in PyTorch, in GFLOP/s: on the AMD EPYC 13-52 % above the matrix product."""
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    images = torch.rand(8, 256, 32, 32, dtype=dtype).contiguous(memory_format=torch.channels_last)
    weight = torch.rand(256, 256, 3, 3, dtype=dtype).contiguous(memory_format=torch.channels_last)
    seconds = interleaved_medians({"conv": lambda: torch.nn.functional.conv2d(images, weight, padding=1)}, rounds)
    return 2 * images.numel() * weight[0].numel() / seconds["conv"] / 1e9


def copy_gb_per_s(megabytes: int = 64, rounds: int = 7) -> float:
    """The machine's memory rate as a copy of a large float32 tensor achieves it, in GB/s read and written."""
    source = torch.rand(megabytes * 2**18)
    target = torch.empty_like(source)
    seconds = interleaved_medians({"copy": lambda: target.copy_(source)}, rounds)["copy"]
    return 2 * source.nbytes / seconds / 1e9


def path_precision(path: str) -> str:
    """The arithmetic a benchmark path computes in, read from its name (fp32 unless it says bf16 or int8)."""
    return next((precision for precision in ("bf16", "int8") if precision in path), "fp32")


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "cpu_flags": matrix_flags(),  # the kind of machine: AMX tiles, AVX-512 BF16 and VNNI, or none
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


# The CPU features that decide bf16 and int8 speed, as /proc/cpuinfo names them.
MATRIX_FLAGS = ("amx_tile", "amx_bf16", "amx_int8", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni")


def matrix_flags() -> list[str]:
    """Which of :data:`MATRIX_FLAGS` this CPU has (empty where /proc/cpuinfo is missing)."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        return []
    for line in cpuinfo.read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return [flag for flag in MATRIX_FLAGS if flag in flags]
    return []


def _cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def write_json(path: str | os.PathLike, content: dict[str, Any]) -> None:
    """Write ``content`` as indented JSON, creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2) + "\n")


def add_keep_freed_memory_option(parser: argparse.ArgumentParser, command: str) -> None:
    """``--keep-freed-memory``: glibc's malloc set as ``mobilevit COMMAND`` sets it."""
    parser.add_argument(
        "--keep-freed-memory",
        action="store_true",
        help=f"set glibc's malloc as `mobilevit {command}` does (for every path: it is process-wide)",
    )


def apply_keep_freed_memory_option(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    """Set the allocator if ``--keep-freed-memory`` asks for it; the words a figure's heading adds."""
    if not args.keep_freed_memory:
        return ""
    if not keep_freed_memory():
        parser.error("--keep-freed-memory needs Linux with glibc")
    return ", freed memory kept"
