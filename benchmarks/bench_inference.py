"""Inference speed of mobilevit beside timm and Hugging Face transformers, on one machine in one run.

For each variant, every path carries the same function: timm's model gets random weights and ours
gets them through ``mobilevit.convert`` (checked: equal logits); the Hugging Face model gets its own
random weights, whose conversion onto ours is checked the same way. Paths run interleaved, one call
of each per round, after a warm-up; figures are medians. ONNX Runtime's path takes turns with torch's
paths in blocks of rounds instead (see ``_thread_pool_groups``). Batch-1 latency and batch-32
throughput at 256x256, float32, eval mode, ``torch.inference_mode``.

    python benchmarks/bench_inference.py --out benchmarks/results/inference.json
    python benchmarks/bench_inference.py --variants xxs --skip compiled --rounds 20 --batch-rounds 3  # ~1 min
    python benchmarks/bench_inference.py --keep-freed-memory  # glibc set as `mobilevit test` sets it
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch._inductor.config
from torch import nn

from common import (
    add_keep_freed_memory_option, alternating_medians, apply_keep_freed_memory_option, machine, markdown_table,
    matmul_peak_gflops, write_json,
)
from mobilevit.analysis import measure_complexity
from mobilevit.convert import to_mobilevit
from mobilevit.export import OnnxClassifier, export_model
from mobilevit.models import ImageClassifier, build_classifier


@dataclass(frozen=True)
class Variant:
    """One model size under its three names."""

    arch: str
    timm_name: str
    huggingface: dict


VARIANTS = {
    "xxs": Variant("xx_small", "mobilevit_xxs", dict(
        neck_hidden_sizes=[16, 16, 24, 48, 64, 80, 320], hidden_sizes=[64, 80, 96], expand_ratio=2.0)),
    "xs": Variant("x_small", "mobilevit_xs", dict(
        neck_hidden_sizes=[16, 32, 48, 64, 80, 96, 384], hidden_sizes=[96, 120, 144], expand_ratio=4.0)),
    "s": Variant("small", "mobilevit_s", dict(
        neck_hidden_sizes=[16, 32, 64, 96, 128, 160, 640], hidden_sizes=[144, 192, 240], expand_ratio=4.0)),
}
PEER_PATHS = ("timm eager", "timm channels_last", "transformers eager")
OUR_PATHS = ("eager", "fused", "fused compiled", "TorchScript", "ONNX Runtime")
CHANNELS_LAST = torch.channels_last
Forward = Callable[[torch.Tensor], torch.Tensor]


def build_peers(variant: Variant) -> tuple[nn.Module, nn.Module, ImageClassifier]:
    """timm's and Hugging Face's models with random weights, and ours carrying timm's weights."""
    import timm
    from transformers import MobileViTConfig, MobileViTForImageClassification

    timm_model = timm.create_model(variant.timm_name, pretrained=False).eval()
    huggingface = MobileViTForImageClassification(MobileViTConfig(num_labels=1000, **variant.huggingface)).eval()
    ours = build_classifier(variant.arch).eval()
    ours.load_state_dict(to_mobilevit(timm_model.state_dict(), "timm"))
    check_same_function(ours, timm_model, huggingface, variant.arch)
    return timm_model, huggingface, ours


@torch.no_grad()
def check_same_function(ours: ImageClassifier, timm_model: nn.Module, huggingface: nn.Module, arch: str) -> None:
    """Fail unless the converted weights give the peers' logits (timm feeds RGB, we BGR)."""
    image = torch.rand(2, 3, 256, 256)
    from_huggingface = build_classifier(arch).eval()
    from_huggingface.load_state_dict(to_mobilevit(huggingface.state_dict(), "huggingface"))
    differences = {
        "timm": (ours(image.flip(1)) - timm_model(image)).abs().max().item(),
        "transformers": (from_huggingface(image) - huggingface(pixel_values=image).logits).abs().max().item(),
    }
    for peer, difference in differences.items():
        if difference > 1e-4:
            raise RuntimeError(f"{arch}: converted {peer} weights give logits {difference:.2e} away from {peer}'s")


def our_paths(model: ImageClassifier, selected: set[str], threads: int, workdir: Path) -> dict[str, Forward]:
    """Our forward functions by path name: as built, fused, compiled, exported.

    As built, the model computes channels-last and folds its BatchNorms on the fly in inference;
    ``fuse()`` folds them for good. Compilation freezes the weights into the graph (inductor's
    ``freezing``, for inference). The exports are ``mobilevit export``'s files, loaded as users
    load them: TorchScript with ``torch.jit.load``, ONNX (256x256 images, any batch size) with
    ONNX Runtime.
    """
    fused = copy.deepcopy(model).fuse().to(memory_format=CHANNELS_LAST)
    paths: dict[str, Forward] = {"eager": model, "fused": fused}
    if "fused compiled" in selected:
        torch._inductor.config.freezing = True
        paths["fused compiled"] = torch.compile(copy.deepcopy(fused), dynamic=False)
    if "TorchScript" in selected:
        paths["TorchScript"] = torch.jit.load(export_model(model, workdir / "model.pt", "torchscript")).eval()
    if "ONNX Runtime" in selected:
        path = export_model(model, workdir / "model.onnx", height=256, width=256)
        paths["ONNX Runtime"] = OnnxClassifier(path, threads=threads)
    return {name: forward for name, forward in paths.items() if name in selected}


def peer_paths(timm_model: nn.Module, huggingface: nn.Module, selected: set[str]) -> dict[str, Forward]:
    """The peers' forward functions by path name."""
    paths: dict[str, Forward] = {
        "timm eager": timm_model,
        "timm channels_last": copy.deepcopy(timm_model).to(memory_format=CHANNELS_LAST),
        "transformers eager": lambda image: huggingface(pixel_values=image).logits,
    }
    return {name: forward for name, forward in paths.items() if name in selected}


def measure_variant(
    name: str, selected: set[str], batch: int, rounds: int, batch_rounds: int, threads: int, workdir: Path
) -> list[dict]:
    variant = VARIANTS[name]
    timm_model, huggingface, ours = build_peers(variant)
    complexity = measure_complexity(ours, 256, 256)
    macs = sum(complexity.breakdown[kind] for kind in ("conv", "linear", "attention"))
    paths = {
        **peer_paths(timm_model, huggingface, selected),
        **{f"mobilevit {path}": forward for path, forward in our_paths(ours, selected, threads, workdir).items()},
    }
    rows = []
    with torch.inference_mode():
        reference = {size: ours(_images(size)) for size in (1, batch)}
        inputs = {size: _inputs(paths, size) for size in (1, batch)}
        groups = _thread_pool_groups(paths)
        warm_seconds = {path: _first_calls(paths[path], inputs, path) for group in groups for path in group}
        calls = {size: [{path: _call(paths[path], inputs[size][path]) for path in group} for group in groups]
                 for size in (1, batch)}
        latency = alternating_medians(calls[1], rounds, block=max(1, rounds // 3), warmup=5)
        throughput = alternating_medians(calls[batch], batch_rounds, block=max(1, batch_rounds // 3), warmup=1)
        for path, forward in paths.items():
            ours_path = path.startswith("mobilevit")
            difference = (forward(inputs[batch][path]) - reference[batch]).abs().max().item() if ours_path else None
            rows.append({
                "variant": name, "path": path, "latency_ms": latency[path] * 1e3,
                "throughput": batch / throughput[path], "gflops": 2 * macs * batch / throughput[path] / 1e9,
                "first_calls_s": warm_seconds[path], "max_abs_difference": difference,
            })
    differences = [row["max_abs_difference"] for row in rows if row["max_abs_difference"] is not None]
    print(f"{name}: {macs / 1e9:.3f} G multiply-adds (conv, linear, attention); our paths' logits are within "
          f"{max(differences, default=0):.1e} of the eager model's", file=sys.stderr)
    return rows


def _thread_pool_groups(paths: dict[str, Forward]) -> list[list[str]]:
    """The paths run by ONNX Runtime's threads, and those run by torch's, timed in turns.

    Each runtime's worker threads spin for a while after a call; interleaved call by call, the two
    pools slow each other down (here by 1.5 to 2 times). Timed one after the other instead, the
    groups' ratios move with the machine's slow spells (ONNX Runtime's batch-1 latency moved from 9
    to 14 ms within one run), so they take turns in blocks of rounds, each block after a warm-up.
    """
    onnx = [path for path in paths if path.endswith("ONNX Runtime")]
    return [group for group in (onnx, [path for path in paths if path not in onnx]) if group]


def _images(size: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(size)
    return torch.rand(size, 3, 256, 256, generator=generator)


def _inputs(paths: dict[str, Forward], size: int) -> dict[str, torch.Tensor]:
    """The same images for every path, in channels-last memory for the peers' channels-last paths
    (ours take any layout: the model lays its input out channels-last itself)."""
    images = _images(size)
    channels_last = images.contiguous(memory_format=CHANNELS_LAST)
    return {path: channels_last if path.endswith("channels_last") else images for path in paths}


def _first_calls(forward: Forward, inputs: dict[int, dict[str, torch.Tensor]], path: str) -> float:
    """Seconds of the first call at each batch size (compilation happens here)."""
    start = time.perf_counter()
    for per_path in inputs.values():
        forward(per_path[path])
    return time.perf_counter() - start


def _call(forward: Forward, images: torch.Tensor) -> Callable[[], object]:
    return lambda: forward(images)


def report(rows: list[dict], batch: int, peak: float) -> str:
    """The markdown table: each path, and our paths' ratios to the fastest peer path."""
    lines = []
    for variant in dict.fromkeys(row["variant"] for row in rows):
        variant_rows = [row for row in rows if row["variant"] == variant]
        peers = [row for row in variant_rows if not row["path"].startswith("mobilevit")]
        best_latency = min((row["latency_ms"] for row in peers), default=None)
        best_throughput = max((row["throughput"] for row in peers), default=None)
        for row in variant_rows:
            ratio = ""
            if best_latency is not None and row["path"].startswith("mobilevit"):
                ratio = f"{best_latency / row['latency_ms']:.2f}x / {row['throughput'] / best_throughput:.2f}x"
            lines.append([
                variant, row["path"], f"{row['latency_ms']:.1f}", f"{row['throughput']:.1f}",
                f"{row['gflops']:.1f} ({100 * row['gflops'] / peak:.0f} %)", ratio])
    headers = ["variant", "path", "batch-1 latency (ms)", f"batch-{batch} throughput (img/s)",
               f"GFLOP/s at batch {batch} (of peak)", "vs fastest peer (latency / throughput)"]
    return markdown_table(headers, lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=[*PEER_PATHS, *OUR_PATHS, "compiled", "torchscript", "onnx"],
                        help="paths to leave out ('compiled', 'torchscript' and 'onnx' are short for ours)")
    parser.add_argument("--batch", type=int, default=32, help="the throughput batch size (default 32)")
    parser.add_argument("--rounds", type=int, default=30, help="timed batch-1 rounds (default 30)")
    parser.add_argument("--batch-rounds", type=int, default=6, help="timed large-batch rounds (default 6)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch and ONNX Runtime threads")
    add_keep_freed_memory_option(parser, "test")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    allocator = apply_keep_freed_memory_option(parser, args)

    torch.set_num_threads(args.threads)
    shorthands = {"compiled": "fused compiled", "torchscript": "TorchScript", "onnx": "ONNX Runtime"}
    selected = {*PEER_PATHS, *OUR_PATHS} - {shorthands.get(path, path) for path in args.skip}
    peak = matmul_peak_gflops()
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.variants:
            rows += measure_variant(name, selected, args.batch, args.rounds, args.batch_rounds, args.threads, Path(workdir))
    print(f"peak (2048x2048 matmul): {peak:.1f} GFLOP/s on {args.threads} threads{allocator}\n")
    print(report(rows, args.batch, peak))
    if args.out:
        write_json(args.out, {"machine": machine(), "peak_gflops": peak, "batch": args.batch, "rounds": args.rounds,
                              "batch_rounds": args.batch_rounds, "keep_freed_memory": args.keep_freed_memory,
                              "results": rows})


if __name__ == "__main__":
    main()
