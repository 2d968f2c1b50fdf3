"""Two gloo processes on CPU, started as torchrun would start them (RANK, WORLD_SIZE, MASTER_*)."""

import os
import socket

import torch
import torch.multiprocessing as mp

from mobilevit.config import load_config
from mobilevit.engine import tester, trainer


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker(rank: int, world_size: int, ports: tuple[int, int], config_path: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(ports[0]), RANK=str(rank),
                      WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank))
    config = load_config(config_path)
    model = trainer.main(config)
    torch.save(model.state_dict(), os.path.join(out_dir, f"rank{rank}.pt"))
    os.environ["MASTER_PORT"] = str(ports[1])
    metrics = tester.main(config, os.path.join(config.train.work_dir, "latest.pth"), weights="model")
    torch.save({"top1": metrics.top1, "top5": metrics.top5, "count": metrics.count},
               os.path.join(out_dir, f"metrics{rank}.pt"))


def test_two_process_gloo_training_agrees_with_its_checkpoint(tiny_config, tmp_path, monkeypatch):
    config_path = tiny_config()
    mp.spawn(_worker, args=(2, (_free_port(), _free_port()), str(config_path), str(tmp_path)), nprocs=2)
    checkpoint = torch.load(tmp_path / "work" / "latest.pth", map_location="cpu", weights_only=True)
    assert checkpoint["world_size"] == 2 and len(checkpoint["rng"]) == 2
    for rank in range(2):
        held = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        assert held.keys() == checkpoint["model"].keys()
        for key, value in held.items():
            assert torch.equal(value, checkpoint["model"][key]), (rank, key)
    # distributed evaluation counts each of the 9 validation images once, as a single process does
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    single = tester.main(load_config(config_path), tmp_path / "work" / "latest.pth", weights="model")
    for rank in range(2):
        metrics = torch.load(tmp_path / f"metrics{rank}.pt", weights_only=True)
        assert metrics == {"top1": single.top1, "top5": single.top5, "count": 9}
