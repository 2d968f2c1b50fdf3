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
from pathlib import Path
from typing import Sequence

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


def train_and_test(work_dir: Path, options: Sequence[str]) -> dict:
    """Train into a fresh ``work_dir`` and test its last weights on the held-out split."""
    shutil.rmtree(work_dir, ignore_errors=True)  # training would otherwise resume from its latest.pth
    run(["train", CONFIG, "--work-dir", str(work_dir), "--cfg-options", *options])
    run(["test", str(work_dir / "config.json"), str(work_dir / "latest.pth"), "--out", str(work_dir / "test.json"),
         "--cfg-options", "data.val_split=test"])
    return json.loads((work_dir / "test.json").read_text())


def transfer(data: Path, work_dir: Path, shots: int, epochs: int, seeds: Sequence[int],
             extra: Sequence[str] = ()) -> list[dict]:
    """The whole experiment; one row per seed with both held-out top-1 figures."""
    source_data, target_data = data / "digits-0to4", data / f"digits-5to9-{shots}shot"
    print(f"$ python tools/demo_digits.py write {source_data} --digits 0 1 2 3 4")
    demo_digits.write(source_data, digits_kept=range(5))
    print(f"$ python tools/demo_digits.py write {target_data} --digits 5 6 7 8 9 --train-per-class {shots}")
    demo_digits.write(target_data, digits_kept=range(5, 10), train_per_class=shots)
    source = work_dir / "source-0to4"
    train_and_test(source, [f"data.root={source_data}", f"schedule.epochs={SOURCE_EPOCHS}", *extra])
    rows = []
    for seed in seeds:
        options = [f"data.root={target_data}", f"schedule.epochs={epochs}", f"train.seed={seed}",
                   *FEW_SHOT_OPTIONS, *extra]
        # the backbone alone: the source's head has as many classes (5), but for other digits
        finetuned = train_and_test(work_dir / f"finetuned-seed{seed}",
                                   [*options, f"model.pretrained={source / 'latest.pth'}", "model.pretrained_keys=backbone"])
        scratch = train_and_test(work_dir / f"scratch-seed{seed}", options)
        rows.append({"seed": seed, "weights": finetuned["weights"], "images": finetuned["images"],
                     "finetuned_top1": finetuned["top1"], "scratch_top1": scratch["top1"]})
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data"), help="where the digit trees go (default data)")
    parser.add_argument("--work-dir", type=Path, default=Path("work_dirs/transfer"),
                        help="where the runs go (default work_dirs/transfer)")
    parser.add_argument("--shots", type=int, default=10, help="training images per class of digits 5-9 (default 10)")
    parser.add_argument("--epochs", type=int, default=30, help="epochs of the few-shot runs (default 30)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="train.seed of the few-shot runs")
    parser.add_argument("--cfg-options", nargs="+", default=[], metavar="KEY=VALUE",
                        help="more overrides for every training run, e.g. train.max_steps=2")
    args = parser.parse_args(argv)
    rows = transfer(args.data, args.work_dir, args.shots, args.epochs, args.seeds, args.cfg_options)
    (args.work_dir / "transfer.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(f"\nheld-out top-1 on digits 5-9 ({rows[0]['images']} images), {args.shots} training images per class:")
    print(f"{'train.seed':>10} {'fine-tuned':>11} {'from scratch':>13}")
    for row in rows:
        print(f"{row['seed']:>10} {row['finetuned_top1']:>11.1f} {row['scratch_top1']:>13.1f}")
    if len(rows) > 1:
        mean = {key: sum(row[key] for row in rows) / len(rows) for key in ("finetuned_top1", "scratch_top1")}
        print(f"{'mean':>10} {mean['finetuned_top1']:>11.1f} {mean['scratch_top1']:>13.1f}")
    print(f"(written to {args.work_dir / 'transfer.json'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
