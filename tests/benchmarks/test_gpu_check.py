"""benchmarks/gpu_check.py's own logic, on the CPU: the summary of its parts and the figures of a training log."""

import json
import math
import sys
from pathlib import Path

from mobilevit.engine.run_log import RunLog

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import gpu_check  # noqa: E402


def test_a_failed_part_is_reported_and_the_parts_after_it_still_run(tmp_path):
    def broken(check):
        raise RuntimeError("exit status 1")

    def absent(check):
        raise gpu_check.Skipped("no GPU")

    parts = {"broken": broken, "absent": absent, "fine": lambda check: (True, {"ms_per_step": 1.5})}
    gpu_check.run_parts(gpu_check.Check(tmp_path, "cpu", gpu_check.DRY_RUN), parts)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["mode"] == "cpu dry run" and summary["torch"] and summary["gpu"] is None
    entries = {entry["name"]: entry for entry in summary["parts"]}
    assert list(entries) == ["broken", "absent", "fine"]
    assert entries["broken"]["status"] == "fail" and entries["broken"]["error"] == "RuntimeError: exit status 1"
    assert entries["absent"]["status"] == "skipped" and entries["absent"]["reason"] == "no GPU"
    assert entries["fine"]["status"] == "pass" and entries["fine"]["figures"] == {"ms_per_step": 1.5}
    assert summary["passed"] is False


def test_train_figures_read_the_losses_and_step_times_the_trainer_logs(tmp_path):
    log = RunLog(tmp_path, enabled=True)
    for step, (loss, seconds) in enumerate([(2.3, 0.9), (2.2, 0.02), (float("nan"), 0.04)], start=1):
        timing = {"step_time": seconds, "data_time": seconds / 4}  # as the trainer records them
        log.record("train", epoch=1, batch=f"{step}/20", step=step, lr=0.001, loss=loss, **timing, shape="64x32x32")
    figures = gpu_check.train_figures(tmp_path)
    assert figures["steps"] == 3 and figures["losses"][:2] == [2.3, 2.2] and math.isnan(figures["losses"][2])
    assert figures["finite"] is False and figures["shapes"] == ["64x32x32"]
    assert figures["ms_per_step"] == 30.0 and figures["data_ms_per_step"] == 7.5  # the first step left out
