"""The ``mobilevit`` command line."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from . import zoo
from .analysis import measure_complexity


def _list(args: argparse.Namespace) -> None:
    print(f"{'model':<34} {'arch':<9} {'params (M)':>10} {'FLOPs (G)':>9} {'top-1':>6} {'top-5':>6}")
    for name in zoo.list_models():
        record = zoo.get_record(name)
        print(f"{name:<34} {record.arch:<9} {record.params_m:>10.2f} {record.flops_g:>9.2f} "
              f"{record.top1:>6.2f} {record.top5:>6.2f}")


def _flops(args: argparse.Namespace) -> None:
    record = zoo.get_record(args.model)
    height, width = args.shape or (record.input_size, record.input_size)
    complexity = measure_complexity(zoo.get_model(args.model), height, width)
    print(f"{record.name} at {height}x{width}")
    print(f"{'':<22} {'measured':>10} {'published':>10}")
    print(f"{'params (M)':<22} {complexity.params / 1e6:>10.3f} {record.params_m:>10.2f}")
    published = f"{record.flops_g:>10.2f}" if (height, width) == (256, 256) else f"{'(256x256)':>10}"
    print(f"{'multiply-adds (G)':<22} {complexity.macs / 1e9:>10.3f} {published}")
    for kind, count in complexity.breakdown.items():
        print(f"  {kind:<20} {count / 1e9:>10.3f}")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mobilevit", description="MobileViT models: inspect, train, predict.")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("list", help="list the zoo's models and their published figures").set_defaults(run=_list)

    flops = commands.add_parser("flops", help="count parameters and multiply-adds of a model")
    flops.add_argument("model", help="a zoo model name (see `mobilevit list`)")
    flops.add_argument("--shape", nargs=2, type=_positive, metavar=("H", "W"), help="input size (default: the model's)")
    flops.set_defaults(run=_flops)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; errors a user can cause print one line and exit with status 2."""
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], None] = args.run
    try:
        run(args)
    except (ValueError, FileNotFoundError, OSError) as error:
        print(f"mobilevit {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
