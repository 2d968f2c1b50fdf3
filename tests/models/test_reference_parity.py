"""Parity with mmpretrain's MobileViT, from stored reference data.

tests/fixtures/mmpretrain_reference.json was written by tests/fixtures/make_mmpretrain_reference.py with
mmpretrain 1.2.0: the state-dict keys and shapes of its ImageClassifier for each seed arch, and its
logits for deterministic weights on a deterministic 250x333 batch (a size that needs the patch resize).
"""

import json
from pathlib import Path

import pytest
import torch

from arch_table import ARCH_NAMES
from mobilevit.models import build_classifier
from reference_weights import deterministic_input, deterministic_state_dict

REFERENCE = json.loads((Path(__file__).parents[1] / "fixtures" / "mmpretrain_reference.json").read_text())


@pytest.mark.parametrize("arch", ARCH_NAMES)
def test_parameter_and_buffer_names_match_the_official_layout(arch):
    ours = [[name, list(value.shape)] for name, value in build_classifier(arch).state_dict().items()]
    assert ours == REFERENCE[arch]["keys"]


@pytest.mark.parametrize("arch", ARCH_NAMES)
def test_logits_match_mmpretrain(arch):
    model = build_classifier(arch)
    model.load_state_dict(deterministic_state_dict(model.state_dict()), strict=True)
    with torch.no_grad():
        logits = model.eval()(deterministic_input())
    expected = torch.tensor(REFERENCE[arch]["logits"])
    assert torch.allclose(logits, expected, atol=1e-4, rtol=0), (logits - expected).abs().max()
    with torch.no_grad():  # the fixture is only worth something if the logits depend on the input
        swapped = model(deterministic_input().flip(1))
    assert (swapped - expected).abs().max() > 0.1
