"""train.tensorboard: the log's figures as TensorBoard scalars over the steps, resumed runs included."""

import importlib.util

import pytest

from mobilevit.engine.run_log import RunLog

HAS_TENSORBOARD = importlib.util.find_spec("tensorboard") is not None


@pytest.mark.skipif(HAS_TENSORBOARD, reason="the tensorboard package is installed")
def test_without_the_package_the_setting_names_the_install(tmp_path):
    with pytest.raises(ImportError, match=r"train.tensorboard=True needs the tensorboard package: pip install"):
        RunLog(tmp_path, enabled=True, tensorboard=True)


def _scalars(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder)).Reload()
    return {
        tag: [(event.step, round(event.value, 6)) for event in events.Scalars(tag)] for tag in events.Tags()["scalars"]
    }


@pytest.mark.skipif(not HAS_TENSORBOARD, reason="needs the tensorboard package (mobilevit[tensorboard])")
def test_the_figures_go_to_tensorboard_at_their_steps(tmp_path):
    log = RunLog(tmp_path, enabled=True, tensorboard=True)
    for step in (1, 2, 3, 4):
        log.record(
            "train", epoch=1 + (step > 2), batch=f"{step}/2", step=step, lr=0.1 * step, loss=2.0 / step, shape="2x3x4"
        )
        if step % 2 == 0:
            log.record("epoch", epoch=step // 2, steps=step, images_per_s=10.0, run_eta="0:00:01")
            log.record("val", epoch=step // 2, top1=30.0 * step, images=9, skipped_images=0)
    scalars = _scalars(tmp_path / "tensorboard")
    assert scalars["train/loss"] == [(1, 2.0), (2, 1.0), (3, 0.666667), (4, 0.5)]
    assert scalars["train/lr"] == [(1, 0.1), (2, 0.2), (3, 0.3), (4, 0.4)]
    assert scalars["val/top1"] == [(2, 60.0), (4, 120.0)]  # at the step that ended the epoch
    assert "val/images" not in scalars and "train/step" not in scalars

    resumed = RunLog(tmp_path, enabled=True, tensorboard=True)
    resumed.rewind(step=2, epoch=1)  # a run resumed from step 2 writes steps 3 and 4 anew
    resumed.record("train", epoch=2, batch="1/2", step=3, lr=0.5, loss=9.0, shape="2x3x4")
    assert _scalars(tmp_path / "tensorboard")["train/loss"] == [(1, 2.0), (2, 1.0), (3, 9.0)]
