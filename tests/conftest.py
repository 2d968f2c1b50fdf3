import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/reference_weights.py

torch.set_num_threads(2)

ARCHS = ("small", "x_small", "xx_small")
POOLED_CHANNELS = {"small": 640, "x_small": 384, "xx_small": 320}


@pytest.fixture(scope="session")
def seed_archs() -> tuple[str, ...]:
    return ARCHS
