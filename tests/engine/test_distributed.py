"""Two gloo processes on CPU, started as torchrun would start them (RANK, WORLD_SIZE, MASTER_*)."""

import json
import os
import shutil
import socket

import pytest
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
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(ports[0]),
        RANK=str(rank),
        WORLD_SIZE=str(world_size),
        LOCAL_RANK=str(rank),
    )
    config = load_config(config_path)
    model = trainer.main(config)
    torch.save(model.state_dict(), os.path.join(out_dir, f"rank{rank}.pt"))
    os.environ["MASTER_PORT"] = str(ports[1])
    metrics = tester.main(config, os.path.join(config.train.work_dir, "latest.pth"), weights="model")
    torch.save(
        {"top1": metrics.top1, "top5": metrics.top5, "count": metrics.count}, os.path.join(out_dir, f"metrics{rank}.pt")
    )


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


def _train_worker(rank: int, world_size: int, port: int, config_path: str, options: list) -> None:
    torch.set_num_threads(1)
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank)
    )
    trainer.main(load_config(config_path, options))


@pytest.mark.slow
def test_the_images_skipped_by_every_process_are_logged(tiny_config, tiny_imagenet, tmp_path):
    data = shutil.copytree(tiny_imagenet, tmp_path / "data")
    # 9 of 33 training images: some are drawn by each process
    broken = [
        data / "train" / folder / f"broken_{index}.JPEG"
        for index, folder in enumerate(("n00_blue", "n01_green", "n02_red") * 3)
    ]
    broken.append(data / "val" / "n02_red" / "zz_broken.JPEG")  # the last of 10: evaluated by rank 1
    for path in broken:
        path.write_bytes(b"\xff\xd8 truncated")
    options = [f"data.root={data}", "schedule.epochs=1", "data.skip_bad_images=True", "train.ema=False"]
    mp.spawn(_train_worker, args=(2, _free_port(), str(tiny_config()), options), nprocs=2)
    log = (tmp_path / "work" / "train.log").read_text()
    skipped_lines = [line for line in log.splitlines() if "skipped an unreadable image" in line]
    assert all(any(path.name in line for line in skipped_lines) for path in broken[:9])
    records = [json.loads(line) for line in (tmp_path / "work" / "log.jsonl").read_text().splitlines()]
    epoch = next(record for record in records if record["kind"] == "epoch")
    assert epoch["skipped_images"] == len(skipped_lines) >= 9
    assert next(record for record in records if record["kind"] == "val")["skipped_images"] == 1
