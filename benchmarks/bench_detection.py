"""Detection latency at 320x320, batch 1: SSDLite-MobileViT beside torchvision's
ssdlite320_mobilenet_v3_large (random weights; torchvision's model built offline with
weights=None, weights_backbone=None), in one process, calls interleaved round by round.

Two paths per model: the network alone on a resized (1, 3, 320, 320) batch (what an export
runs), and the whole model on one 480x640 image (resize, network, decoding, NMS and boxes back
in the image's pixels). The random weights score every anchor alike, so both models decode with
a score threshold of 0.5 here, which keeps NMS off the clock the way trained weights mostly do.

    python benchmarks/bench_detection.py --threads 2 --out benchmarks/results/detection.json
"""

from __future__ import annotations

import argparse

import torch
from torchvision.models.detection import ssdlite320_mobilenet_v3_large

from common import interleaved_medians, machine, markdown_table, write_json
from mobilevit.models import build_ssdlite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", nargs="+", default=["xx_small", "x_small", "small"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--out", help="write the figures to this JSON file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    reference = ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, score_thresh=0.5).eval()
    models = {f"SSDLite-MobileViT {arch}": build_ssdlite(arch, score_thresh=0.5).eval() for arch in args.archs}
    batch, image = torch.rand(1, 3, 320, 320), torch.rand(3, 480, 640)

    def reference_network() -> object:
        features = list(reference.backbone(batch).values())
        return reference.head(features)

    calls = {
        "torchvision ssdlite320_mobilenet_v3_large network": reference_network,
        "torchvision ssdlite320_mobilenet_v3_large whole": lambda: reference([image]),
    }
    for name, model in models.items():
        calls[f"{name} network"] = lambda model=model: model(batch)
        calls[f"{name} whole"] = lambda model=model: model.detect([image])
    with torch.inference_mode():
        medians = interleaved_medians(calls, args.rounds)

    params = {"torchvision ssdlite320_mobilenet_v3_large": sum(p.numel() for p in reference.parameters())}
    params |= {name: sum(p.numel() for p in model.parameters()) for name, model in models.items()}
    rows = []
    for name in params:
        network, whole = medians[f"{name} network"], medians[f"{name} whole"]
        base_network = medians["torchvision ssdlite320_mobilenet_v3_large network"]
        base_whole = medians["torchvision ssdlite320_mobilenet_v3_large whole"]
        rows.append(
            [
                name,
                f"{params[name] / 1e6:.2f}",
                f"{network * 1e3:.1f}",
                f"{network / base_network:.2f}",
                f"{whole * 1e3:.1f}",
                f"{whole / base_whole:.2f}",
            ]
        )
    print(f"{args.threads} thread(s), batch 1, medians of {args.rounds} interleaved rounds")
    print(markdown_table(["model", "params (M)", "network ms", "x torchvision", "whole ms", "x torchvision"], rows))
    if args.out:
        write_json(
            args.out,
            {
                "machine": machine(),
                "threads": args.threads,
                "rounds": args.rounds,
                "seconds": medians,
                "params": params,
            },
        )


if __name__ == "__main__":
    main()
