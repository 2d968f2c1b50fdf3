"""The benchmark scripts run end to end on a small problem and write the figures they print."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from bench_train import OperatorTimes  # noqa: E402
from common import alternating_medians  # noqa: E402


def run_benchmark(script: str, *args: str, out: Path) -> dict:
    command = [sys.executable, str(BENCHMARKS / script), *args, "--threads", "2", "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| mobilevit" in result.stdout  # the markdown table
    return json.loads(out.read_text())


@pytest.mark.slow
def test_inference_benchmark_times_every_path_and_checks_our_logits(tmp_path):
    pytest.importorskip("openvino")
    # LiteRT and ExecuTorch (minutes to export at 256x256) are tested in tests/export
    figures = run_benchmark(
        "bench_inference.py",
        "--variants",
        "xxs",
        "--skip",
        "compiled",
        "tflite",
        "executorch",
        "--rounds",
        "2",
        "--batch-rounds",
        "1",
        "--batch",
        "2",
        "--keep-freed-memory",
        "--calibration-images",
        "4",
        out=tmp_path / "inference.json",
    )
    rows = {row["path"]: row for row in figures["results"]}
    assert set(rows) == {
        "timm eager",
        "timm channels_last",
        "transformers eager",
        "timm ONNX Runtime",
        "mobilevit eager",
        "mobilevit fused",
        "mobilevit TorchScript",
        "mobilevit ONNX Runtime",
        "mobilevit bf16",
        "mobilevit OpenVINO fp32",
        "mobilevit OpenVINO bf16",
        "mobilevit OpenVINO int8",
    }
    assert figures["keep_freed_memory"]
    assert all(row["latency_ms"] > 0 and row["throughput"] > 0 for row in rows.values())
    for path, row in rows.items():
        if path.startswith("mobilevit") and not ("bf16" in path or "int8" in path):
            assert row["max_abs_difference"] < 1e-4, path
    assert rows["mobilevit OpenVINO int8"]["file_mb"] < rows["mobilevit OpenVINO fp32"]["file_mb"]
    assert set(figures["peak_gflops"]) == {"fp32", "bf16", "int8"}  # each path's share is of its precision's peak
    assert all(gflops > 0 for gflops in figures["peak_gflops"].values())


@pytest.mark.slow
def test_training_benchmark_times_steps_and_peak_memory(tmp_path):
    figures = run_benchmark(
        "bench_train.py",
        "--variants",
        "xxs",
        "--batch",
        "2",
        "--size",
        "64",
        "--rounds",
        "1",
        out=tmp_path / "train.json",
    )
    rows = {row["path"]: row for row in figures["results"]}
    assert set(rows) == {
        "timm",
        "timm channels_last",
        "mobilevit",
        "mobilevit channels_last",
        "mobilevit grad checkpointing",
    }
    assert all(row["step_ms"] > 0 and row["peak_memory_mb"] >= 0 for row in rows.values())


@pytest.mark.slow
def test_training_benchmark_takes_the_samplers_shapes_under_bfloat16_autocast(tmp_path):
    figures = run_benchmark(
        "bench_train.py",
        *("--variants", "xxs", "--batch", "4", "--sizes", "64", "128", "--rounds", "1"),
        *("--amp", "bfloat16", "--no-memory"),
        out=tmp_path / "train.json",
    )
    assert figures["amp"] == "bfloat16"
    shapes = {(row["size"], row["batch"]) for row in figures["results"]}
    assert shapes == {(64, 64), (128, 16)}  # the batch keeps the pixels of 4 images at 256
    assert all("peak_memory_mb" not in row for row in figures["results"])


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_training_benchmark_runs_each_side_as_its_command_ships(tmp_path):
    figures = run_benchmark(
        "bench_train.py",
        *("--variants", "xxs", "--batch", "2", "--size", "64", "--rounds", "2", "--as-shipped"),
        out=tmp_path / "train.json",
    )
    assert figures["as_shipped"]
    rows = {row["path"]: row for row in figures["results"]}
    assert set(rows) == {"mobilevit", "timm", "timm channels_last"}
    assert [path for path, row in rows.items() if row["freed_memory_kept"]] == ["mobilevit"]
    assert all(row["step_ms"] > 0 for row in rows.values())


@pytest.mark.slow
def test_training_benchmark_times_each_operator_of_a_step_beside_the_machines_limits(tmp_path):
    command = [sys.executable, str(BENCHMARKS / "bench_train.py"), "--variants", "xxs", "--batch", "2"]
    command += ["--size", "64", "--rounds", "1", "--amp", "none", "--ops", "--threads", "2"]
    result = subprocess.run(
        [*command, "--out", str(tmp_path / "ops.json")], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| aten.convolution_backward |" in result.stdout
    figures = json.loads((tmp_path / "ops.json").read_text())
    assert figures["matmul_peak_gflops"] > 0 and figures["convolution_peak_gflops"] > 0 and figures["copy_gb_per_s"] > 0
    assert [table["path"] for table in figures["operators"]] == ["mobilevit", "timm channels_last"]
    for table in figures["operators"]:
        rows = {row["operator"]: row for row in table["operators"]}
        assert sum(row["ms"] for row in rows.values()) <= table["step_ms"]
        # the products, convolutions and attention of both passes are counted; views move nothing
        for name in ("aten.convolution", "aten.convolution_backward", "aten.mm", "aten.addmm"):
            assert rows[name]["gflop_per_s"] > 0
        # timm's attention is the flash kernel; ours over few tokens, as here, two products
        attention = (
            "aten.bmm" if table["path"] == "mobilevit" else "aten._scaled_dot_product_flash_attention_for_cpu_backward"
        )
        assert rows[attention]["gflop_per_s"] > 0
        assert rows["aten.view"]["gb_per_s"] is None and rows["aten.view"]["gflop_per_s"] is None
        assert rows["aten.native_batch_norm"]["gb_per_s"] > 0 and rows["aten.native_batch_norm"]["gflop_per_s"] is None


def test_cpu_flash_attention_counts_the_flops_of_its_products():
    query, key, value = (torch.rand(2, 3, 5, 4, requires_grad=True) for _ in range(3))
    with OperatorTimes() as times:
        torch.nn.functional.scaled_dot_product_attention(query, key, value).sum().backward()
    forward = 2 * (2 * 2 * 3 * 5 * 5 * 4)  # query x keys, then weights x values
    assert times.totals["aten._scaled_dot_product_flash_attention_for_cpu"][2] == forward
    assert times.totals["aten._scaled_dot_product_flash_attention_for_cpu_backward"][2] == 2 * forward


@pytest.mark.slow
def test_before_after_benchmark_runs_another_checkouts_models_beside_these(tmp_path):
    pytest.importorskip("timm")
    source = Path(__file__).parents[2] / "src"  # this checkout stands in for the earlier one
    command = [
        sys.executable,
        str(BENCHMARKS / "bench_before_after.py"),
        "--before",
        str(source),
        "--variants",
        "xxs",
        "--rounds",
        "1",
        "--batch-rounds",
        "1",
        "--out",
        str(tmp_path / "before_after.json"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| XXS | now: init_model (fused) |" in result.stdout
    figures = json.loads((tmp_path / "before_after.json").read_text())["results"]["xxs"]
    assert set(figures["batch1_ms"]) == {
        "timm channels_last",
        "before: eval()",
        "before: fuse()",
        "now: get_model().eval()",
        "now: init_model (fused)",
    }
    assert all(value > 0 for value in figures["batch32_img_s"].values())


def test_alternating_medians_takes_turns_in_blocks_and_times_every_call():
    log = []
    groups = [{"a": lambda: log.append("a"), "b": lambda: log.append("b")}, {"c": lambda: log.append("c")}]
    medians = alternating_medians(groups, rounds=5, block=2, warmup=1)
    assert set(medians) == {"a", "b", "c"} and all(seconds >= 0 for seconds in medians.values())
    # Blocks of 2, 2 and 1 timed rounds, each after one warm-up round; a and b interleaved.
    assert "".join(log) == "ab" * 3 + "c" * 3 + "ab" * 3 + "c" * 3 + "ab" * 2 + "c" * 2
