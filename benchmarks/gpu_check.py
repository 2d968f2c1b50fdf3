"""mobilevit on one NVIDIA GPU: what a CPU-only machine cannot check, in a few minutes.

1. ``mobilevit train`` of the demo's digits (written as ``scripts/demo.sh`` writes them), a few
   steps with ``train.amp=bfloat16``, then ``float16``: the losses, that they are finite, and the
   wall time per step and the wait for batches in it (the median of the ``log.jsonl`` records'
   ``step_time`` and ``data_time`` after the first step);
2. the logits of XXS, S and v2-100 (``build_classifier``, the same random weights, eval mode,
   float32, TF32 off) on the GPU against the CPU's: passes at a max abs difference of at most 1e-3
   of the logits' scale (their largest magnitude on the CPU);
3. ``torchrun --nproc-per-node 1`` (``python -m torch.distributed.run``): a few ``mobilevit train``
   steps as users start them, where one process joins no process group
   (``engine/distributed.py`` joins one when WORLD_SIZE > 1), then the same steps in an NCCL group
   joined first, so the trainer's collectives (the per-step reports of skipped images, gathered
   from every process) go through NCCL;
4. ``benchmarks/bench_train.py --amp bfloat16`` for XXS and S: a training step of mobilevit beside
   timm's, its JSON in ``OUT/bench_train.json``.

Each part runs whether or not the ones before it passed. Each command's output goes to
``OUT/<name>.log``; ``OUT/summary.json`` holds the versions, the GPU and each part's status and
figures. ``--cpu-dry-run`` runs the same on the CPU at tiny sizes, part 3 skipped, to check the
script itself.

    bash benchmarks/gpu_check.sh                  # OUT=gpu_check_out by default
    bash benchmarks/gpu_check.sh --cpu-dry-run
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch

import mobilevit
from bench_train import VARIANTS, faster_timm_ratios
from mobilevit.models import build_classifier

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs/mobilevit/mobilevit-tiny_1xb64_digits.py"
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "1"]
LOGIT_VARIANTS = ("xxs", "s", "v2-100")  # bench_train's names
BENCH_VARIANTS = ("xxs", "s")
MAX_RELATIVE_DIFFERENCE = 1e-3


@dataclass(frozen=True)
class Sizes:
    """How much each part runs."""

    train_steps: int
    torchrun_steps: int
    train_options: tuple[str, ...]  # config overrides of the digits runs besides device, amp and steps
    logits_batch: int
    logits_size: int
    bench_options: tuple[str, ...]


ON_GPU = Sizes(
    train_steps=10, torchrun_steps=3, train_options=(), logits_batch=4, logits_size=256, bench_options=("--rounds", "3")
)
DRY_RUN = Sizes(
    train_steps=2,
    torchrun_steps=2,
    train_options=("data.batch_size=2", "data.sampler.variable=False", "data.sampler.base_size=64"),
    logits_batch=2,
    logits_size=64,
    bench_options=("--rounds", "1", "--batch", "2", "--size", "64", "--threads", "2", "--no-memory"),
)


@dataclass(frozen=True)
class Check:
    """A run of the parts: where results go, the device and the sizes."""

    out: Path
    device: str  # "cuda", or "cpu" for the dry run
    sizes: Sizes

    def environment(self) -> dict[str, str]:
        """The commands' environment: without CUDA devices on the dry run."""
        return {**os.environ, "CUDA_VISIBLE_DEVICES": ""} if self.device == "cpu" else dict(os.environ)


class Skipped(Exception):
    """A part that does not apply on this machine."""


Figures = dict[str, Any]
Part = Callable[[Check], tuple[bool, Figures]]


def run(command: list[str], log: Path, check: Check, timeout: float = 240) -> None:
    """Run ``command`` with its output in ``log``; raise with the log's end if it fails or outlasts ``timeout``."""
    print(f"$ {shlex.join(command)}  > {log}", flush=True)
    with log.open("w") as file:
        process = subprocess.Popen(
            command, stdout=file, stderr=subprocess.STDOUT, cwd=ROOT, env=check.environment(), start_new_session=True
        )
        try:
            status = process.wait(timeout)
        except subprocess.TimeoutExpired:
            status = None
        finally:  # past the timeout, or Ctrl-C here: the command's whole group ends, torchrun's workers too
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    if status is None:
        raise RuntimeError(f"stopped after {timeout:.0f} s; the end of {log}:\n{tail(log)}")
    if status:
        raise RuntimeError(f"exit status {status}; the end of {log}:\n{tail(log)}")


def tail(log: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of ``log``."""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def fresh(folder: Path) -> Path:
    """``folder``, emptied (a training run would otherwise resume from its latest.pth)."""
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def digits(check: Check) -> Path:
    """The demo's digits under ``OUT/digits``, written once as ``scripts/demo.sh`` writes them."""
    root = check.out / "digits"
    if not (root / "train").is_dir():
        run([sys.executable, str(ROOT / "tools/demo_digits.py"), "write", str(root)], check.out / "digits.log", check)
    return root


def train_arguments(check: Check, work_dir: Path, amp: str, steps: int) -> list[str]:
    """``mobilevit train``'s arguments for ``steps`` steps of the demo config on the check's device."""
    options = [
        f"data.root={digits(check)}",
        f"train.device={check.device}",
        f"train.amp={amp}",
        f"train.max_steps={steps}",
        "train.log_interval=1",
        "train.progress_bar=False",
        *check.sizes.train_options,
    ]
    return [str(CONFIG), "--work-dir", str(work_dir), "--cfg-options", *options]


def train_figures(work_dir: Path) -> Figures:
    """The steps, losses, and median wall time and wait for batches per step (ms) of a run's
    ``log.jsonl`` (``train.log_interval=1``)."""
    records = [json.loads(line) for line in (work_dir / "log.jsonl").read_text().splitlines()]
    steps = [record for record in records if record["kind"] == "train"]
    losses = [record["loss"] for record in steps]
    after_first = steps[1:]  # the first step warms up

    def median_ms(field: str) -> float | None:
        return round(1000 * statistics.median(record[field] for record in after_first), 1) if after_first else None

    return {
        "steps": len(steps),
        "losses": [round(loss, 4) for loss in losses],
        "finite": all(math.isfinite(loss) for loss in losses),
        "ms_per_step": median_ms("step_time"),
        "data_ms_per_step": median_ms("data_time"),
        "shapes": sorted({record["shape"] for record in steps}),
    }


def train_digits(check: Check, amp: str) -> tuple[bool, Figures]:
    """Part 1: a few ``mobilevit train`` steps of the digits under ``train.amp=amp``."""
    if amp == "float16" and check.device == "cpu":
        raise Skipped("train.amp=float16 needs CUDA (its gradient scaler)")
    work_dir = fresh(check.out / f"train_{amp}")
    steps = check.sizes.train_steps
    run(
        [sys.executable, str(ROOT / "tools/train.py"), *train_arguments(check, work_dir, amp, steps)],
        work_dir.with_suffix(".log"),
        check,
    )
    figures = train_figures(work_dir)
    return figures["steps"] == steps and figures["finite"], figures


def compare_logits(check: Check) -> tuple[bool, Figures]:
    """Part 2: each classifier's float32 logits on the check's device against the CPU's."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    batch, size = check.sizes.logits_batch, check.sizes.logits_size
    images = torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(0))
    figures = {"batch": batch, "size": size}
    for variant in LOGIT_VARIANTS:
        torch.manual_seed(0)
        model = build_classifier(VARIANTS[variant][0]).eval()
        with torch.no_grad():
            expected = model(images)
            got = model.to(check.device)(images.to(check.device)).cpu()
        scale = expected.abs().max().item()
        difference = (got - expected).abs().max().item()
        figures[variant] = {
            "max_abs_diff": difference,
            "logit_scale": scale,
            "relative_diff": difference / scale,
            "argmax_agree": int((got.argmax(1) == expected.argmax(1)).sum()),
        }
    passed = all(figures[variant]["relative_diff"] <= MAX_RELATIVE_DIFFERENCE for variant in LOGIT_VARIANTS)
    return passed, figures


def torchrun_train(check: Check) -> tuple[bool, Figures]:
    """Part 3: a few steps under torchrun with one process, as users start it and in an NCCL group."""
    if check.device == "cpu":
        raise Skipped("no GPU")
    steps = check.sizes.torchrun_steps
    figures = {}
    for name, script in (("as_started", [str(ROOT / "tools/train.py")]), ("nccl", [__file__, "--train-over-nccl"])):
        work_dir = fresh(check.out / f"torchrun_{name}")
        log = work_dir.with_suffix(".log")
        run([*TORCHRUN, *script, *train_arguments(check, work_dir, "bfloat16", steps)], log, check)
        text = log.read_text()
        placement = re.search(r"(\d+) process\(es\) on (\S+);", text)
        group = re.search(r"joined a process group: backend (\w+)", text)
        figures[name] = {
            **train_figures(work_dir),
            "processes": int(placement[1]) if placement else None,
            "device": placement[2] if placement else None,
            "process_group": group[1] if group else None,
        }
    passed = all(each["steps"] == steps and each["finite"] for each in figures.values())
    return passed and figures["nccl"]["process_group"] == "nccl", figures


def train_over_nccl(arguments: list[str]) -> int:
    """Under torchrun: join an NCCL process group, then ``mobilevit train ARGUMENTS`` in it."""
    import torch.distributed as dist

    from mobilevit.cli import main

    dist.init_process_group("nccl", device_id=torch.device("cuda", int(os.environ["LOCAL_RANK"])))
    print(f"joined a process group: backend {dist.get_backend()}, {dist.get_world_size()} process(es)", flush=True)
    return main(["train", *arguments])  # the trainer leaves the group at its end


def bench_train(check: Check) -> tuple[bool, Figures]:
    """Part 4: ``bench_train.py --amp bfloat16`` for XXS and S, its JSON kept in ``OUT``."""
    out = check.out / "bench_train.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, str(ROOT / "benchmarks/bench_train.py"), "--variants", *BENCH_VARIANTS]
    command += ["--amp", "bfloat16", *check.sizes.bench_options, "--out", str(out)]
    run(command, check.out / "bench_train.log", check, timeout=360)
    report = json.loads(out.read_text())
    rows = report["results"]
    step_ms = {f"{row['variant']} {row['path']}": round(row["step_ms"], 2) for row in rows}
    ratios = {  # higher: ours faster
        row["variant"]: round(ratio, 2)
        for row, ratio in zip(rows, faster_timm_ratios(rows))
        if row["path"] == "mobilevit"
    }
    figures = {"device": report["device"], "step_ms": step_ms, "mobilevit_vs_faster_timm": ratios}
    return report["device"] == check.device and all(map(math.isfinite, step_ms.values())), figures


PARTS: dict[str, Part] = {
    "train bfloat16": partial(train_digits, amp="bfloat16"),
    "train float16": partial(train_digits, amp="float16"),
    "logits vs cpu": compare_logits,
    "torchrun": torchrun_train,
    "bench_train bfloat16": bench_train,
}


def run_part(name: str, part: Part, check: Check) -> dict[str, Any]:
    """Run one part, catching its failure: its status ('pass', 'fail', 'skipped'), figures or error, and time."""
    print(f"\n== {name} ==", flush=True)
    started = time.perf_counter()
    try:
        passed, figures = part(check)
        entry = {"name": name, "status": "pass" if passed else "fail", "figures": figures}
    except Skipped as reason:
        entry = {"name": name, "status": "skipped", "reason": str(reason)}
    except Exception as error:
        traceback.print_exc()
        entry = {"name": name, "status": "fail", "error": f"{type(error).__name__}: {error}"}
    entry["seconds"] = round(time.perf_counter() - started, 1)
    details = entry.get("figures", entry.get("reason", entry.get("error")))
    print(f"{name}: {entry['status']} in {entry['seconds']} s: {json.dumps(details)}", flush=True)
    return entry


def run_parts(check: Check, parts: dict[str, Part]) -> dict[str, Any]:
    """Run every part in turn and write ``OUT/summary.json``: the versions, the GPU and each part's entry."""
    check.out.mkdir(parents=True, exist_ok=True)
    gpu = check.device == "cuda"
    summary = {
        "mode": "gpu" if gpu else "cpu dry run",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if gpu else None,
        "gpu": torch.cuda.get_device_name() if gpu else None,
        "mobilevit": mobilevit.__version__,
        "parts": [run_part(name, part, check) for name, part in parts.items()],
    }
    summary["passed"] = all(entry["status"] != "fail" for entry in summary["parts"])
    (check.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("gpu_check_out"), help="where results go")
    parser.add_argument("--cpu-dry-run", action="store_true", help="the CPU at tiny sizes, torchrun skipped")
    parser.add_argument("--train-over-nccl", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.train_over_nccl is not None:  # part 3's worker, started by torchrun
        return train_over_nccl(args.train_over_nccl)
    if not args.cpu_dry_run and not torch.cuda.is_available():
        parser.error("no CUDA device here: run on a machine with an NVIDIA GPU, or with --cpu-dry-run")
    check = Check(args.out.resolve(), "cpu" if args.cpu_dry_run else "cuda", DRY_RUN if args.cpu_dry_run else ON_GPU)
    summary = run_parts(check, PARTS)
    print(f"\n{check.out / 'summary.json'}: " + ", ".join(f"{e['name']} {e['status']}" for e in summary["parts"]))
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
