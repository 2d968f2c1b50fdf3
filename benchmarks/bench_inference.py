"""Inference speed of mobilevit beside timm and Hugging Face transformers, on one machine in one run.

For each variant, every path carries the same function: timm's model gets random weights and ours
gets them through ``mobilevit.convert`` (checked: equal logits); the Hugging Face model gets its own
random weights, whose conversion onto ours is checked the same way. Paths run interleaved, one call
of each per round, after a warm-up; figures are medians. Each ONNX Runtime session and each
OpenVINO model takes turns with torch's paths in blocks of rounds instead (see
``_thread_pool_groups``), as do the LiteRT and ExecuTorch files, which take one batch size each
(a file per batch size is exported). Batch-1 latency and batch-32 throughput at 256x256, eval mode,
``torch.inference_mode``; float32 unless the path says bf16 or int8 (the int8 paths calibrate on
random images: their speed stands, their random-weight logits do not). ``--digits RUN_DIR`` adds
the top-1 of every one of our paths built from the demo's trained model (``scripts/demo.sh``) on
its held-out test images, the accuracy a precision costs.

    python benchmarks/bench_inference.py --out benchmarks/results/inference.json --digits work_dirs/demo
    python benchmarks/bench_inference.py --variants xxs --skip compiled --rounds 20 --batch-rounds 3  # ~1 min
    python benchmarks/bench_inference.py --keep-freed-memory  # glibc set as `mobilevit test` sets it
    python benchmarks/bench_inference.py --digits work_dirs/demo --accuracy-only  # top-1 only, ~5 min
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch._inductor.config
from torch import nn

from common import (
    add_keep_freed_memory_option,
    alternating_medians,
    apply_keep_freed_memory_option,
    machine,
    markdown_table,
    matmul_peak_gflops,
    path_precision,
    write_json,
)
from mobilevit.analysis import measure_complexity
from mobilevit.apis import init_model, prepare_batch
from mobilevit.checkpoint import load_weights
from mobilevit.convert import to_mobilevit
from mobilevit.data.datasets import scan_folders
from mobilevit.export import (
    ExecuTorchRunner,
    OnnxRunner,
    OpenVinoRunner,
    TFLiteRunner,
    calibration_images,
    export_model,
)
from mobilevit.export.onnx import export_onnx
from mobilevit.models import ImageClassifier, build_classifier


@dataclass(frozen=True)
class Variant:
    """One model size under its three names (``huggingface``: its config's settings)."""

    arch: str
    timm_name: str
    huggingface: dict

    @property
    def v2(self) -> bool:
        return self.arch.startswith("v2_")


VARIANTS = {
    "v2-100": Variant("v2_100", "mobilevitv2_100", dict(width_multiplier=1.0)),
    "xxs": Variant(
        "xx_small",
        "mobilevit_xxs",
        dict(neck_hidden_sizes=[16, 16, 24, 48, 64, 80, 320], hidden_sizes=[64, 80, 96], expand_ratio=2.0),
    ),
    "xs": Variant(
        "x_small",
        "mobilevit_xs",
        dict(neck_hidden_sizes=[16, 32, 48, 64, 80, 96, 384], hidden_sizes=[96, 120, 144], expand_ratio=4.0),
    ),
    "s": Variant(
        "small",
        "mobilevit_s",
        dict(neck_hidden_sizes=[16, 32, 64, 96, 128, 160, 640], hidden_sizes=[144, 192, 240], expand_ratio=4.0),
    ),
}
PEER_PATHS = ("timm eager", "timm channels_last", "transformers eager", "timm ONNX Runtime")
OUR_PATHS = (
    "eager",
    "fused",
    "fused compiled",
    "TorchScript",
    "ONNX Runtime",
    "bf16",
    "bf16 compiled",
    "PT2E int8 compiled",
    "OpenVINO fp32",
    "OpenVINO bf16",
    "OpenVINO int8",
    "LiteRT fp32",
    "LiteRT int8",
    "ExecuTorch fp32",
    "ExecuTorch int8",
    "ExecuTorch fp32 unrewritten",
)
SHORTHANDS = {  # --skip names for several paths
    "compiled": ("fused compiled", "bf16 compiled", "PT2E int8 compiled"),
    "torchscript": ("TorchScript",),
    "onnx": ("ONNX Runtime", "timm ONNX Runtime"),
    "openvino": ("OpenVINO fp32", "OpenVINO bf16", "OpenVINO int8"),
    "tflite": ("LiteRT fp32", "LiteRT int8"),
    "executorch": ("ExecuTorch fp32", "ExecuTorch int8", "ExecuTorch fp32 unrewritten"),
}
# The paths whose files take one batch size (one file per batch size is exported), and their files' suffix
FIXED_BATCH_PATHS = {
    "LiteRT fp32": ".tflite",
    "LiteRT int8": ".tflite",
    "ExecuTorch fp32": ".pte",
    "ExecuTorch int8": ".pte",
    "ExecuTorch fp32 unrewritten": ".pte",
}
CHANNELS_LAST = torch.channels_last
Forward = Callable[[torch.Tensor], torch.Tensor]


def build_peers(variant: Variant) -> tuple[nn.Module, nn.Module, ImageClassifier]:
    """timm's and Hugging Face's models with random weights, and ours carrying timm's weights."""
    import timm
    from transformers import (
        MobileViTConfig,
        MobileViTForImageClassification,
        MobileViTV2Config,
        MobileViTV2ForImageClassification,
    )

    timm_model = timm.create_model(variant.timm_name, pretrained=False).eval()
    if variant.v2:
        config = MobileViTV2Config(num_labels=1000, **variant.huggingface)
        huggingface = MobileViTV2ForImageClassification(config).eval()
    else:
        huggingface = MobileViTForImageClassification(MobileViTConfig(num_labels=1000, **variant.huggingface)).eval()
    ours = build_classifier(variant.arch).eval()
    ours.load_state_dict(to_mobilevit(timm_model.state_dict(), "timm_v2" if variant.v2 else "timm"))
    check_same_function(ours, timm_model, huggingface, variant)
    return timm_model, huggingface, ours


@torch.no_grad()
def check_same_function(ours: ImageClassifier, timm_model: nn.Module, huggingface: nn.Module, variant: Variant) -> None:
    """Fail unless the converted weights give the peers' logits (timm feeds v1 RGB, we BGR; v2 is RGB
    everywhere). Hugging Face's v2 leaves odd maps unresized, so it is compared at 256, where none is odd."""
    image = torch.rand(2, 3, 256, 256)
    from_huggingface = build_classifier(variant.arch).eval()
    layout = "huggingface_v2" if variant.v2 else "huggingface"
    from_huggingface.load_state_dict(to_mobilevit(huggingface.state_dict(), layout))
    ours_input = image if variant.v2 else image.flip(1)
    differences = {
        "timm": (ours(ours_input) - timm_model(image)).abs().max().item(),
        "transformers": (from_huggingface(image) - huggingface(pixel_values=image).logits).abs().max().item(),
    }
    for peer, difference in differences.items():
        if difference > 1e-4:
            raise RuntimeError(
                f"{variant.arch}: converted {peer} weights give logits {difference:.2e} away from {peer}'s"
            )


def our_paths(
    model: ImageClassifier,
    selected: set[str],
    threads: int,
    workdir: Path,
    size: int,
    calibration: torch.Tensor,
    batches: tuple[int, ...] = (1,),
) -> tuple[dict[str, Forward], dict[str, float]]:
    """Our forward functions by path name (as built, fused, compiled, exported, in low precision),
    and the size in MB of each exported file.

    "eager" is the model as ``build_classifier`` / ``get_model`` give it, in eval mode: it computes
    channels-last and runs every BatchNorm; "fused" is what ``init_model`` returns, its BatchNorms
    folded into the convolutions by ``fuse()``. Compilation freezes the weights into the graph (inductor's
    ``freezing``, for inference). The exports are ``mobilevit export``'s files, loaded as users
    load them: TorchScript with ``torch.jit.load``, ONNX (``size`` square images, any batch size)
    with ONNX Runtime, OpenVINO IRs with :class:`OpenVinoRunner`. bf16 is
    ``init_model(..., dtype=torch.bfloat16)``; the int8 paths calibrate on ``calibration``. LiteRT
    and ExecuTorch files are exported for each of ``batches`` (other batch sizes run in slices of
    the batch-1 file); "ExecuTorch fp32 unrewritten" lowers the fused model as built, without the
    rewrite that lets XNNPACK take every operator (:func:`mobilevit.export.executorch.delegable`).
    """
    from mobilevit.export.pt2e import quantize_pt2e

    fused = copy.deepcopy(model).fuse().to(memory_format=CHANNELS_LAST)
    builders: dict[str, Callable[[], Forward]] = {
        "eager": lambda: model,
        "fused": lambda: fused,
        "fused compiled": lambda: torch.compile(copy.deepcopy(fused), dynamic=False),
        "TorchScript": lambda: torch.jit.load(export_model(model, workdir / "model.pt", "torchscript")).eval(),
        "ONNX Runtime": lambda: OnnxRunner(
            export_model(model, workdir / "model.onnx", height=size, width=size), threads=threads
        ),
        "bf16": lambda: _in_bfloat16(copy.deepcopy(model).to(torch.bfloat16)),
        "bf16 compiled": lambda: _in_bfloat16(torch.compile(copy.deepcopy(fused).to(torch.bfloat16), dynamic=False)),
        "PT2E int8 compiled": lambda: quantize_pt2e(model, calibration),
        "OpenVINO fp32": lambda: _openvino(model, workdir / "fp32.xml", size, threads, "fp32"),
        "OpenVINO bf16": lambda: _openvino(model, workdir / "bf16.xml", size, threads, "bf16"),
        "OpenVINO int8": lambda: _openvino(model, workdir / "int8.xml", size, threads, "fp32", calibration),
        "LiteRT fp32": lambda: _by_batch(
            batches,
            lambda batch: TFLiteRunner(
                export_model(model, workdir / f"LiteRT fp32-{batch}.tflite", "tflite", size, size, batch_size=batch),
                threads=threads,
            ),
        ),
        "LiteRT int8": lambda: _by_batch(
            batches,
            lambda batch: TFLiteRunner(
                export_model(
                    model,
                    workdir / f"LiteRT int8-{batch}.tflite",
                    "tflite",
                    size,
                    size,
                    calibration=calibration,
                    quantize="int8",
                    batch_size=batch,
                ),
                threads=threads,
            ),
        ),
        "ExecuTorch fp32": lambda: _by_batch(
            batches,
            lambda batch: ExecuTorchRunner(
                export_model(
                    model, workdir / f"ExecuTorch fp32-{batch}.pte", "executorch", size, size, batch_size=batch
                )
            ),
        ),
        "ExecuTorch int8": lambda: _by_batch(
            batches,
            lambda batch: ExecuTorchRunner(
                export_model(
                    model,
                    workdir / f"ExecuTorch int8-{batch}.pte",
                    "executorch",
                    size,
                    size,
                    calibration=calibration,
                    quantize="int8",
                    batch_size=batch,
                )
            ),
        ),
        "ExecuTorch fp32 unrewritten": lambda: _by_batch(
            batches,
            lambda batch: _executorch_as_built(
                model, workdir / f"ExecuTorch fp32 unrewritten-{batch}.pte", size, batch
            ),
        ),
    }
    torch._inductor.config.freezing = True
    paths = {name: build() for name, build in builders.items() if name in selected}
    files = {
        "TorchScript": ["model.pt"],
        "ONNX Runtime": ["model.onnx"],
        "OpenVINO fp32": ["fp32.xml", "fp32.bin"],
        "OpenVINO bf16": ["bf16.xml", "bf16.bin"],
        "OpenVINO int8": ["int8.xml", "int8.bin"],
    }
    files.update({name: [f"{name}-1{suffix}"] for name, suffix in FIXED_BATCH_PATHS.items()})
    file_mb = {
        name: sum((workdir / file).stat().st_size for file in names) / 1e6
        for name, names in files.items()
        if name in paths
    }
    return paths, file_mb


def _by_batch(batches: tuple[int, ...], build: Callable[[int], Forward]) -> Forward:
    """One runner per batch size (each file takes one), chosen by the batch given; the batch-1
    runner, which runs any batch in slices, for the others."""
    runners = {batch: build(batch) for batch in dict.fromkeys((1, *batches))}
    return lambda images: runners.get(len(images), runners[1])(images)


def _executorch_as_built(model: ImageClassifier, path: Path, size: int, batch: int) -> Forward:
    """The fused model lowered to XNNPACK as it is, for comparison with the rewritten export."""
    from mobilevit.export.executorch import to_xnnpack, undelegated_operators

    # in the default memory layout, as the export lowers it (fuse() lays the weights out channels-last)
    fused = copy.deepcopy(model).fuse().to(memory_format=torch.contiguous_format)
    lowered = to_xnnpack(fused, torch.rand(batch, 3, size, size))
    outside = undelegated_operators(lowered)
    print(
        f"ExecuTorch as built: {sum(outside.values())} operators outside the XNNPACK delegate "
        f"({', '.join(f'{name} {count}' for name, count in outside.most_common())})",
        file=sys.stderr,
    )
    path.write_bytes(lowered.to_executorch().buffer)
    return ExecuTorchRunner(path)


def _in_bfloat16(model: Forward) -> Forward:
    return lambda images: model(images.to(torch.bfloat16)).float()


def _openvino(
    model: ImageClassifier, path: Path, size: int, threads: int, precision: str, calibration: torch.Tensor | None = None
) -> Forward:
    quantize = None if calibration is None else "int8"
    export_model(model, path, "openvino", size, size, precision=precision, calibration=calibration, quantize=quantize)
    return OpenVinoRunner(path, threads=threads)


def timm_onnx(timm_model: nn.Module, path: Path, threads: int) -> Forward:
    """timm's model exported as ours is (the same exporter, opset and dynamic batch) in ONNX Runtime."""
    export_onnx(timm_model, torch.rand(1, 3, 256, 256), path, dynamic=False)
    return OnnxRunner(path, threads=threads)


def peer_paths(
    timm_model: nn.Module, huggingface: nn.Module, selected: set[str], threads: int, workdir: Path
) -> dict[str, Forward]:
    """The peers' forward functions by path name."""
    builders: dict[str, Callable[[], Forward]] = {
        "timm eager": lambda: timm_model,
        "timm channels_last": lambda: copy.deepcopy(timm_model).to(memory_format=CHANNELS_LAST),
        "transformers eager": lambda: lambda image: huggingface(pixel_values=image).logits,
        "timm ONNX Runtime": lambda: timm_onnx(timm_model, workdir / "timm.onnx", threads),
    }
    return {name: build() for name, build in builders.items() if name in selected}


def measure_variant(
    name: str,
    selected: set[str],
    batch: int,
    rounds: int,
    batch_rounds: int,
    threads: int,
    workdir: Path,
    digits: dict[str, float],
    calibration_count: int,
) -> list[dict]:
    variant = VARIANTS[name]
    timm_model, huggingface, ours = build_peers(variant)
    complexity = measure_complexity(ours, 256, 256)
    macs = sum(complexity.breakdown[kind] for kind in ("conv", "linear", "attention"))
    calibration = torch.rand(calibration_count, 3, 256, 256, generator=torch.Generator().manual_seed(777))
    ours_paths, file_mb = our_paths(ours, selected, threads, workdir, 256, calibration, batches=(1, batch))
    paths = {
        **peer_paths(timm_model, huggingface, selected, threads, workdir),
        **{f"mobilevit {path}": forward for path, forward in ours_paths.items()},
    }
    rows = []
    with torch.inference_mode():
        reference = {size: ours(_images(size)) for size in (1, batch)}
        inputs = {size: _inputs(paths, size) for size in (1, batch)}
        groups = _thread_pool_groups(paths)
        warm_seconds = {path: _first_calls(paths[path], inputs, path) for group in groups for path in group}
        calls = {
            size: [{path: _call(paths[path], inputs[size][path]) for path in group} for group in groups]
            for size in (1, batch)
        }
        latency = alternating_medians(calls[1], rounds, block=max(1, rounds // 3), warmup=5)
        throughput = alternating_medians(calls[batch], batch_rounds, block=max(1, batch_rounds // 3), warmup=1)
        for path, forward in paths.items():
            ours_path = path.removeprefix("mobilevit ") if path.startswith("mobilevit") else None
            difference = (forward(inputs[batch][path]) - reference[batch]).abs().max().item() if ours_path else None
            rows.append(
                {
                    "variant": name,
                    "path": path,
                    "latency_ms": latency[path] * 1e3,
                    "throughput": batch / throughput[path],
                    "gflops": 2 * macs * batch / throughput[path] / 1e9,
                    "first_calls_s": warm_seconds[path],
                    "max_abs_difference": difference,
                    "file_mb": file_mb.get(ours_path),
                    "digits_top1": digits.get(ours_path),
                }
            )
    exact = [
        row["max_abs_difference"]
        for row in rows
        if row["max_abs_difference"] is not None and not any(low in row["path"] for low in ("bf16", "int8"))
    ]
    print(
        f"{name}: {macs / 1e9:.3f} G multiply-adds (conv, linear, attention); our float32 paths' logits are within "
        f"{max(exact, default=0):.1e} of the eager model's",
        file=sys.stderr,
    )
    return rows


def digits_accuracy(run_dir: Path, selected: set[str], threads: int, workdir: Path) -> dict[str, float]:
    """Top-1 of each of our paths built from the demo's trained model, on its held-out test images;
    the int8 paths calibrate on 300 of its training images, as `mobilevit export` does."""
    model = init_model(run_dir / "config.json", fuse=False)
    load_weights(model, run_dir / "best.pth")
    config = run_dir / "config.json"
    test = scan_folders(Path(json.loads(config.read_text())["data"]["root"]) / "test", model.class_names)
    images = prepare_batch([str(path) for path, _ in test.samples], model.preprocessing)
    labels = torch.tensor([label for _, label in test.samples])
    calibration = calibration_images(config, model.preprocessing)
    paths, _ = our_paths(model.eval(), selected, threads, workdir, model.preprocessing.crop_size, calibration)
    accuracy = {}
    with torch.inference_mode():
        for name, forward in paths.items():
            logits = torch.cat([forward(chunk) for chunk in images.split(50)])
            accuracy[name] = 100.0 * (logits.argmax(1) == labels).float().mean().item()
            print(f"digits top-1 of {name}: {accuracy[name]:.1f} % ({len(labels)} images)", file=sys.stderr)
    return accuracy


def _thread_pool_groups(paths: dict[str, Forward]) -> list[list[str]]:
    """Each ONNX Runtime session, OpenVINO model, LiteRT interpreter and ExecuTorch program on its
    own, and the paths run by torch's threads together, timed in turns.

    Each runtime's worker threads spin for a while after a call; interleaved call by call, two
    pools slow each other down (here by 1.5 to 2 times; two ONNX Runtime sessions, by up to 3
    times). Timed one after the other instead, the groups' ratios move with the machine's slow
    spells (ONNX Runtime's batch-1 latency moved from 9 to 14 ms within one run), so they take
    turns in blocks of rounds, each block after a warm-up.
    """
    alone = [
        path
        for path in paths
        if any(runtime in path for runtime in ("ONNX Runtime", "OpenVINO", "LiteRT", "ExecuTorch"))
    ]
    torch_paths = [path for path in paths if path not in alone]
    return [[path] for path in alone] + ([torch_paths] if torch_paths else [])


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


def report(rows: list[dict], batch: int, peaks: dict[str, float]) -> str:
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
            lines.append(
                [
                    variant,
                    row["path"],
                    f"{row['latency_ms']:.1f}",
                    f"{row['throughput']:.1f}",
                    f"{row['gflops']:.1f} ({100 * row['gflops'] / peaks[path_precision(row['path'])]:.0f} %)",
                    ratio,
                    "" if row.get("file_mb") is None else f"{row['file_mb']:.1f}",
                    "" if row.get("digits_top1") is None else f"{row['digits_top1']:.1f}",
                ]
            )
    headers = [
        "variant",
        "path",
        "batch-1 latency (ms)",
        f"batch-{batch} throughput (img/s)",
        f"GFLOP/s at batch {batch} (of the matmul peak in its precision)",
        "vs fastest peer (latency / throughput)",
        "file (MB)",
        "digits top-1",
    ]
    return markdown_table(headers, lines)


def skipped_paths(skip: list[str]) -> set[str]:
    """The path names that ``--skip`` names, shorthands expanded."""
    return {name for path in skip for name in SHORTHANDS.get(path, (path,))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=[*PEER_PATHS, *OUR_PATHS, *SHORTHANDS],
        help=f"paths to leave out ({', '.join(f'{key!r}' for key in SHORTHANDS)} name several)",
    )
    parser.add_argument("--batch", type=int, default=32, help="the throughput batch size (default 32)")
    parser.add_argument("--rounds", type=int, default=30, help="timed batch-1 rounds (default 30)")
    parser.add_argument("--batch-rounds", type=int, default=6, help="timed large-batch rounds (default 6)")
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count(),
        help="torch, ONNX Runtime, OpenVINO, LiteRT and ExecuTorch threads",
    )
    parser.add_argument(
        "--digits",
        type=Path,
        metavar="RUN_DIR",
        help="the demo's training run (config.json, best.pth): add each path's top-1 on its test images",
    )
    parser.add_argument(
        "--calibration-images",
        type=int,
        default=100,
        help="random images the int8 paths calibrate on at 256x256 (default 100)",
    )
    parser.add_argument(
        "--accuracy-only", action="store_true", help="with --digits: print each path's top-1 and time nothing"
    )
    add_keep_freed_memory_option(parser, "test")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    if args.accuracy_only and not args.digits:
        parser.error("--accuracy-only needs --digits RUN_DIR")
    allocator = apply_keep_freed_memory_option(parser, args)

    torch.set_num_threads(args.threads)
    if not {"ExecuTorch fp32", "ExecuTorch int8", "ExecuTorch fp32 unrewritten"} <= skipped_paths(args.skip):
        from executorch.extension.pybindings.portable_lib import _unsafe_reset_threadpool

        _unsafe_reset_threadpool(args.threads)  # ExecuTorch's XNNPACK thread pool, one per process
    skipped = skipped_paths(args.skip)
    selected = {*PEER_PATHS, *OUR_PATHS} - skipped
    peaks = {precision: matmul_peak_gflops(precision=precision) for precision in ("fp32", "bf16", "int8")}
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        digits = digits_accuracy(args.digits, selected, args.threads, Path(workdir)) if args.digits else {}
        if args.accuracy_only:
            print("\n".join(f"{path}: {top1:.1f} %" for path, top1 in digits.items()))
            return
        for name in args.variants:
            rows += measure_variant(
                name,
                selected,
                args.batch,
                args.rounds,
                args.batch_rounds,
                args.threads,
                Path(workdir),
                digits,
                args.calibration_images,
            )
    print(
        "matmul peak (2048x2048): "
        + ", ".join(f"{precision} {gflops:.0f} GFLOP/s" for precision, gflops in peaks.items())
        + f" on {args.threads} threads{allocator}\n"
    )
    print(report(rows, args.batch, peaks))
    if args.out:
        write_json(
            args.out,
            {
                "machine": machine(),
                "peak_gflops": peaks,
                "batch": args.batch,
                "rounds": args.rounds,
                "batch_rounds": args.batch_rounds,
                "keep_freed_memory": args.keep_freed_memory,
                "results": rows,
            },
        )


if __name__ == "__main__":
    main()
