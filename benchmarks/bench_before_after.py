"""Inference speed of this checkout's models beside another checkout's, in one process.

A change to the models is measured against the code before it: ``--before`` names the ``src``
folder of an earlier checkout (``git worktree add /tmp/before <commit>``), whose ``models``
package is imported under another name (it imports nothing else of ours). Both carry the same
weights (the earlier model's state dict, loaded into this one). The paths, interleaved one call
each per round after a warm-up, medians, ``torch.inference_mode``, 256x256, float32:

- timm with channels_last, the fastest peer in eager PyTorch;
- before: the earlier model in eval mode as ``build_classifier`` gave it, and its ``fuse()``;
- now: ``build_classifier(...).eval()`` (what ``get_model`` gives) and ``init_model``'s fused model.

    git worktree add /tmp/before 9780866
    python benchmarks/bench_before_after.py --before /tmp/before/src --out before_after.json
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import torch
from torch import nn

from common import interleaved_medians, machine, markdown_table, write_json
from mobilevit.convert import to_mobilevit
from mobilevit.models import build_classifier

VARIANTS = {"xxs": ("xx_small", "mobilevit_xxs"), "xs": ("x_small", "mobilevit_xs"), "s": ("small", "mobilevit_s")}
PEER = "timm channels_last"


def import_models(src: Path) -> ModuleType:
    """The ``mobilevit.models`` package of another checkout, imported with its own ``mobilevit``
    package renamed ``before_mobilevit`` (its relative imports stay inside that checkout)."""
    init = src / "mobilevit" / "__init__.py"
    if not (init.parent / "models" / "__init__.py").is_file():
        raise SystemExit(f"--before {src}: no mobilevit/models/__init__.py under it")
    spec = importlib.util.spec_from_file_location(
        "before_mobilevit", init, submodule_search_locations=[str(init.parent)]
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules["before_mobilevit"] = package
    spec.loader.exec_module(package)
    return importlib.import_module("before_mobilevit.models")


def paths_of(arch: str, timm_name: str, before: ModuleType) -> dict[str, nn.Module]:
    """Every path of one variant, all carrying timm's random weights."""
    import timm

    timm_model = timm.create_model(timm_name, pretrained=False).eval()
    state = to_mobilevit(timm_model.state_dict(), "timm")
    earlier = before.build_classifier(arch).eval()
    earlier.load_state_dict(state)
    now = build_classifier(arch).eval()
    now.load_state_dict(state)
    return {
        PEER: copy.deepcopy(timm_model).to(memory_format=torch.channels_last),
        "before: eval()": earlier,
        "before: fuse()": copy.deepcopy(earlier).fuse(),
        "now: get_model().eval()": now,
        "now: init_model (fused)": copy.deepcopy(now).fuse(),
    }


@torch.inference_mode()
def measure(models: dict[str, nn.Module], batch: int, rounds: int) -> dict[str, float]:
    """Median seconds per batch of each path; timm gets RGB channels-last images, ours BGR."""
    images = torch.rand(batch, 3, 256, 256)
    reference = models["now: get_model().eval()"](images)
    for name, model in models.items():
        if name != PEER and not torch.allclose(model(images), reference, atol=1e-4, rtol=0):
            raise RuntimeError(f"{name} gives other logits than the eager model")
    peer_images = images.flip(1).contiguous(memory_format=torch.channels_last)
    calls = {
        name: (lambda model=model, name=name: model(peer_images if name == PEER else images))
        for name, model in models.items()
    }
    return interleaved_medians(calls, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="the src folder of the earlier checkout")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--rounds", type=int, default=30, help="timed rounds at batch 1")
    parser.add_argument("--batch-rounds", type=int, default=6, help="timed rounds at batch 32")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    before = import_models(args.before)
    rows, results = [], {}
    for variant in args.variants:
        models = paths_of(*VARIANTS[variant], before)
        latency = measure(models, 1, args.rounds)
        throughput = {name: 32 / seconds for name, seconds in measure(models, 32, args.batch_rounds).items()}
        results[variant] = {"batch1_ms": {k: v * 1000 for k, v in latency.items()}, "batch32_img_s": throughput}
        for name in models:
            ratio = f"{latency[PEER] / latency[name]:.2f}x / {throughput[name] / throughput[PEER]:.2f}x"
            rows.append(
                [
                    variant.upper(),
                    name,
                    f"{latency[name] * 1000:.1f} / {throughput[name]:.1f}",
                    "" if name == PEER else ratio,
                ]
            )
        print(f"{variant} done", file=sys.stderr)
    print(markdown_table(["variant", "path", "ms / img/s", "vs timm channels_last"], rows))
    if args.out:
        write_json(args.out, {"machine": machine(), "threads": args.threads, "results": results})


if __name__ == "__main__":
    main()
