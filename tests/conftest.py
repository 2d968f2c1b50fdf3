import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/reference_weights.py

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def seed_archs() -> tuple[str, ...]:
    from arch_table import ARCH_NAMES

    return ARCH_NAMES
