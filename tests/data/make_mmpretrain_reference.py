"""Regenerate mmpretrain_reference.json from mmpretrain itself (not a test dependency).

Run in an environment with mmpretrain 1.2.0 (mmcv-lite 2.1, mmengine 0.10): it records, for each
seed arch, the state-dict keys and shapes of mmpretrain's ImageClassifier and its logits for
deterministic weights and input (see ``deterministic_state_dict`` in tests/reference_weights.py).
"""

import json
import sys
from pathlib import Path

import torch
from mmengine.registry import init_default_scope

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from reference_weights import deterministic_input, deterministic_state_dict  # noqa: E402

HEAD_CHANNELS = {"small": 640, "x_small": 384, "xx_small": 320}


def main() -> None:
    init_default_scope("mmpretrain")
    from mmpretrain.registry import MODELS

    reference = {}
    for arch, channels in HEAD_CHANNELS.items():
        model = MODELS.build(dict(
            type="ImageClassifier", backbone=dict(type="MobileViT", arch=arch),
            neck=dict(type="GlobalAveragePooling"),
            head=dict(type="LinearClsHead", num_classes=1000, in_channels=channels)))
        keys = [[name, list(value.shape)] for name, value in model.state_dict().items()]
        model.load_state_dict(deterministic_state_dict(model.state_dict()))
        with torch.no_grad():
            logits = model.eval()(deterministic_input())
        reference[arch] = {"keys": keys, "logits": logits.tolist()}
    out = Path(__file__).with_name("mmpretrain_reference.json")
    out.write_text(json.dumps(reference))


if __name__ == "__main__":
    main()
