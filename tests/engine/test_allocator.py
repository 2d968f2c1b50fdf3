"""Training and testing keep freed memory for reuse, so large tensors stop costing fresh pages."""

import dataclasses
import subprocess
import sys

import pytest

from mobilevit.config import Config, TrainConfig
from mobilevit.engine import tester, trainer

FAULTS_OF_REPEATED_ALLOCATIONS = """
import resource, sys, torch
from mobilevit.engine.allocator import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
for _ in range(3):
    torch.empty(2**24).fill_(1)  # 64 MiB, over glibc's default mapping threshold
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    torch.empty(2**24).fill_(1)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(mode: str) -> int:
    result = subprocess.run([sys.executable, "-c", FAULTS_OF_REPEATED_ALLOCATIONS, mode],
                            capture_output=True, text=True, check=True)
    return int(result.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_kept_memory_spares_the_page_faults_of_each_new_large_tensor():
    default, kept = page_faults("default"), page_faults("keep")
    assert default > 10 * 2**26 // 4096 // 2  # each 64 MiB tensor faults in most of its pages anew
    assert kept < default / 5  # at most a growth of the heap, once


class Started(Exception):
    """Raised in place of the distributed set-up, once the allocator has (or has not) been set."""


@pytest.mark.parametrize("keep", [True, False])
@pytest.mark.parametrize("entry", ["train", "test"])
def test_runs_keep_freed_memory_as_configured(monkeypatch, entry, keep):
    module = trainer if entry == "train" else tester
    calls = []
    monkeypatch.setattr(module, "keep_freed_memory", lambda: calls.append(1) or True)

    def stop(device):
        raise Started

    monkeypatch.setattr(module.distributed, "setup", stop)
    config = dataclasses.replace(Config(), train=TrainConfig(keep_freed_memory=keep))
    with pytest.raises(Started):
        trainer.main(config) if entry == "train" else tester.main(config, "unused.pth")
    assert calls == ([1] if keep else [])
