"""Transfer on the demo's digits, with the commands of docs/fine-tuning.md.

Train the demo's model (configs/mobilevit/mobilevit-tiny_1xb64_digits.py) on digits 0-4, then
fine-tune it on digits 5-9 from a few training images per class, against training from scratch on
the same images for the same steps, and test both on the held-out images of digits 5-9 (the
weights after the last step, so neither run is picked by its validation score). Every command is
printed as it runs; each run's work dir is made afresh.

    python tools/demo_transfer.py                       # 10 images per class, 30 epochs, train.seed 0
    python tools/demo_transfer.py --shots 5 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import demo_digits

from mobilevit.cli import main as mobilevit

CONFIG = "configs/mobilevit/mobilevit-tiny_1xb64_digits.py"
# The source run: the demo's 12 epochs, on half its images.
SOURCE_EPOCHS = 12
# The few-shot runs: one or two steps an epoch on 50 images, evaluated every 10 epochs.
FEW_SHOT_OPTIONS = ("schedule.warmup_iters=10", "train.val_interval=10", "train.checkpoint_interval=1000")


def run(arguments: Sequence[str]) -> None:
    """Run one ``mobilevit`` command, printing it first."""
    print(f"$ mobilevit {shlex.join(arguments)}", flush=True)
    status = mobilevit(list(arguments))
    if status:
        raise SystemExit(status)


def train_and_test(work_dir: Path, options: Sequence[str]) -> dict[str, dict]:
    """Train into a fresh ``work_dir`` and test its last weights, EMA and raw, on the held-out split."""
    shutil.rmtree(work_dir, ignore_errors=True)  # training would otherwise resume from its latest.pth
    run(["train", CONFIG, "--work-dir", str(work_dir), "--cfg-options", *options])
    return {weights: test(work_dir, weights) for weights in ("ema", "model")}


def test(work_dir: Path, weights: str) -> dict:
    """Test the ``weights`` (``ema`` or ``model``) of ``work_dir``'s last checkpoint on the held-out split."""
    out = work_dir / f"test-{weights}.json"
    run(
        [
            "test",
            str(work_dir / "config.json"),
            str(work_dir / "latest.pth"),
            "--weights",
            weights,
            "--out",
            str(out),
            "--cfg-options",
            "data.val_split=test",
        ]
    )
    return json.loads(out.read_text())


def transfer(
    data: Path, work_dir: Path, shots: int, epochs: int, seeds: Sequence[int], extra: Sequence[str] = ()
) -> list[dict]:
    """The whole experiment; one row per seed with both held-out top-1 figures."""
    source_data, target_data = data / "digits-0to4", data / f"digits-5to9-{shots}shot"
    print(f"$ python tools/demo_digits.py write {source_data} --digits 0 1 2 3 4")
    demo_digits.write(source_data, digits_kept=range(5))
    print(f"$ python tools/demo_digits.py write {target_data} --digits 5 6 7 8 9 --train-per-class {shots}")
    demo_digits.write(target_data, digits_kept=range(5, 10), train_per_class=shots)
    source = work_dir / "source-0to4"
    train_and_test(
        source, [f"data.root={source_data}", "model.num_classes=5", f"schedule.epochs={SOURCE_EPOCHS}", *extra]
    )
    rows = []
    for seed in seeds:
        options = [
            f"data.root={target_data}",
            "model.num_classes=5",
            f"schedule.epochs={epochs}",
            f"train.seed={seed}",
            *FEW_SHOT_OPTIONS,
            *extra,
        ]
        # the backbone alone: the source's head has as many classes (5), but for other digits
        finetuned = train_and_test(
            work_dir / f"finetuned-seed{seed}",
            [*options, f"model.pretrained={source / 'latest.pth'}", "model.pretrained_keys=backbone"],
        )
        scratch = train_and_test(work_dir / f"scratch-seed{seed}", options)
        rows.append(
            {
                "seed": seed,
                "images": finetuned["ema"]["images"],
                "steps": finetuned["ema"]["weights"],
                **{
                    f"{arm}_{weights}_top1": result[weights]["top1"]
                    for arm, result in (("finetuned", finetuned), ("scratch", scratch))
                    for weights in ("ema", "model")
                },
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data"), help="where the digit trees go (default data)")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=Path("work_dirs/transfer"),
        help="where the runs go (default work_dirs/transfer)",
    )
    parser.add_argument("--shots", type=int, default=10, help="training images per class of digits 5-9 (default 10)")
    parser.add_argument("--epochs", type=int, default=30, help="epochs of the few-shot runs (default 30)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="train.seed of the few-shot runs")
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="more overrides for every training run, e.g. train.max_steps=2",
    )
    args = parser.parse_args(argv)
    rows = transfer(args.data, args.work_dir, args.shots, args.epochs, args.seeds, args.cfg_options)
    (args.work_dir / "transfer.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(f"\nheld-out top-1 on digits 5-9 ({rows[0]['images']} images), {args.shots} training images per class:")
    columns = [f"{arm}_{weights}_top1" for arm in ("finetuned", "scratch") for weights in ("ema", "model")]
    print(f"{'train.seed':>10} {'fine-tuned EMA':>15} {'fine-tuned raw':>15} {'scratch EMA':>12} {'scratch raw':>12}")
    widths = (15, 15, 12, 12)
    for row in rows:
        print(f"{row['seed']:>10} " + " ".join(f"{row[key]:>{width}.1f}" for key, width in zip(columns, widths)))
    if len(rows) > 1:
        means = [sum(row[key] for row in rows) / len(rows) for key in columns]
        print(f"{'mean':>10} " + " ".join(f"{mean:>{width}.1f}" for mean, width in zip(means, widths)))
    print(f"(written to {args.work_dir / 'transfer.json'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
