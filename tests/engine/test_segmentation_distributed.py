"""Segmentation evaluation under two gloo processes counts every pixel of every image once."""

import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from PIL import Image

from mobilevit.config import load_config
from mobilevit.data.segmentation import save_palette_mask
from mobilevit.engine import distributed
from mobilevit.engine.evaluator import evaluate
from mobilevit.tasks import get_task

CONFIG = """
task = "segmentation"
model = dict(arch=[["mobilenetv2", 8, 1, 1, 2], ["mobilenetv2", 16, 2, 1, 2], ["mobilevit", 24, 2, 24, 48, 1, 2]],
             num_classes=3, aspp_channels=16)
data = dict(kind="pairs", root={root!r}, classes=["a", "b", "c"], val_batch_size=2, num_workers=0,
            preprocessing=dict(resize_short=32, crop_size=32, keep_aspect_ratio=False))
"""


def _scores(config_path: str, weights: str) -> dict:
    config = load_config(config_path)
    context = distributed.setup("cpu")
    try:
        task = get_task(config.task)
        model = task.build_model(config)
        model.load_state_dict(torch.load(weights, weights_only=True))
        data = task.build_data(config, False, context.world_size, context.rank)
        metrics = evaluate(model, data.val, context.device, task.evaluator(config, context.device))
        return {"miou": metrics.miou, "pixels": metrics.pixels, "images": metrics.count}
    finally:
        distributed.cleanup()


def _worker(rank: int, port: int, config_path: str, weights: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank)
    )
    torch.save(_scores(config_path, weights), os.path.join(out_dir, f"scores{rank}.pt"))


@pytest.mark.slow
def test_two_processes_score_as_one(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    for index in range(5):  # an odd count: one process has one image more
        height, width = 20 + 3 * index, 30 - 2 * index
        (tmp_path / "images/val").mkdir(parents=True, exist_ok=True)
        (tmp_path / "masks/val").mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(
            tmp_path / f"images/val/{index}.png"
        )
        save_palette_mask(
            rng.choice(np.array([0, 1, 2, 255], np.uint8), (height, width)), tmp_path / f"masks/val/{index}.png"
        )
    config_path = tmp_path / "seg.py"
    config_path.write_text(CONFIG.format(root=str(tmp_path)))
    torch.manual_seed(0)
    weights = tmp_path / "weights.pt"
    torch.save(get_task("segmentation").build_model(load_config(config_path)).state_dict(), weights)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    mp.spawn(_worker, args=(port, str(config_path), str(weights), str(tmp_path)), nprocs=2)
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    single = _scores(str(config_path), str(weights))
    assert single["images"] == 5
    for rank in range(2):
        assert torch.load(tmp_path / f"scores{rank}.pt", weights_only=True) == single
