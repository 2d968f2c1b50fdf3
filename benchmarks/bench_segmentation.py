"""Segmentation inference at 512x512: DeepLabv3-MobileViT beside Hugging Face's
MobileViTForSemanticSegmentation carrying the same weights (converted through our tables; the
script checks the logits agree), output stride 16, 21 classes, in one process, calls interleaved
round by round, batch 1 and batch 8.

Two paths of ours: ``forward_low_res`` (the 1/16 logits Hugging Face's model returns) and the
model's own call (logits upsampled to the input size, what inference uses).

    python benchmarks/bench_segmentation.py --threads 2 --out benchmarks/results/segmentation.json
"""

from __future__ import annotations

import argparse

import torch
import transformers

from common import interleaved_medians, machine, markdown_table, write_json
from mobilevit.convert import to_mobilevit
from mobilevit.models import build_segmenter

HF_SIZES = {
    "xx_small": dict(neck_hidden_sizes=[16, 16, 24, 48, 64, 80, 320], hidden_sizes=[64, 80, 96], expand_ratio=2.0),
    "x_small": dict(neck_hidden_sizes=[16, 32, 48, 64, 80, 96, 384], hidden_sizes=[96, 120, 144]),
    "small": dict(neck_hidden_sizes=[16, 32, 64, 96, 128, 160, 640], hidden_sizes=[144, 192, 240]),
}


def build_pair(arch: str) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Hugging Face's segmenter with random weights (and BatchNorm statistics), and ours with the same."""
    config = transformers.MobileViTConfig(num_labels=21, output_stride=16, **HF_SIZES[arch])
    reference = transformers.MobileViTForSemanticSegmentation(config).eval()
    state = reference.state_dict()
    for key, value in state.items():
        if key.endswith("running_var"):
            value.uniform_(0.5, 1.5)
        elif key.endswith("running_mean"):
            value.uniform_(-0.1, 0.1)
    reference.load_state_dict(state)
    ours = build_segmenter(arch, num_classes=21).eval()
    ours.load_state_dict(to_mobilevit(reference.state_dict(), "huggingface_deeplabv3"))
    return reference, ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", nargs="+", default=["xx_small", "x_small", "small"], choices=list(HF_SIZES))
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--out", help="write the figures to this JSON file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    rows, seconds, differences = [], {}, {}
    for arch in args.archs:
        reference, ours = build_pair(arch)
        for batch_size in args.batches:
            batch = torch.rand(batch_size, 3, 512, 512)
            with torch.inference_mode():
                expected = reference(pixel_values=batch).logits
                differences[f"{arch} batch {batch_size}"] = float((ours.forward_low_res(batch) - expected).abs().max())
                calls = {
                    "transformers": lambda reference=reference, batch=batch: reference(pixel_values=batch).logits,
                    "mobilevit forward_low_res": lambda ours=ours, batch=batch: ours.forward_low_res(batch),
                    "mobilevit model(x), full size": lambda ours=ours, batch=batch: ours(batch),
                }
                medians = interleaved_medians(calls, args.rounds)
            seconds[f"{arch} batch {batch_size}"] = medians
            base = medians["transformers"]
            for name, value in medians.items():
                rows.append([arch, batch_size, name, f"{value * 1e3:.1f}", f"{base / value:.2f}x"])
    print(
        f"{args.threads} thread(s), 512x512, medians of {args.rounds} interleaved rounds; "
        f"largest logit difference to transformers: {max(differences.values()):.1e}"
    )
    print(markdown_table(["arch", "batch", "path", "ms per call", "speed vs transformers"], rows))
    if args.out:
        write_json(
            args.out,
            {
                "machine": machine(),
                "threads": args.threads,
                "rounds": args.rounds,
                "seconds": seconds,
                "max_abs_difference": differences,
            },
        )


if __name__ == "__main__":
    main()
