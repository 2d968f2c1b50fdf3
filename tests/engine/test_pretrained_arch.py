"""Fine-tuning from a checkpoint of another arch names both archs and how to take the checkpoint's."""

import pytest
import torch

from mobilevit.checkpoint import Checkpoint, CheckpointError
from mobilevit.config import config_from_dict
from mobilevit.engine.finetune import arch_text, load_pretrained
from mobilevit.models import build_classifier

CUSTOM = [["mobilenetv2", 8, 1, 1, 2], ["mobilevit", 16, 2, 16, 32, 1, 2]]
CUSTOM_TEXT = "[['mobilenetv2',8,1,1,2],['mobilevit',16,2,16,32,1,2]]"


def test_a_training_checkpoint_of_a_custom_arch_offers_its_arch(tmp_path):
    trained = build_classifier(CUSTOM, num_classes=3).state_dict()
    checkpoint = Checkpoint(trained, "training", tmp_path / "best.pth", {"config": {"model": {"arch": CUSTOM}}})
    with pytest.raises(CheckpointError) as error:
        load_pretrained(build_classifier("xx_small", num_classes=3), checkpoint)
    message = str(error.value)
    assert (
        f"The model is arch 'xx_small'; the checkpoint's backbone is arch \"{CUSTOM_TEXT}\": "
        f"set model.arch={CUSTOM_TEXT} to take the checkpoint's arch "
        f'(on the command line: --cfg-options "model.arch={CUSTOM_TEXT}")'
    ) in message
    # the value offered is one a config takes, and it builds the checkpoint's model
    config = config_from_dict({}, [f"model.arch={CUSTOM_TEXT}", "model.num_classes=3"])
    load_pretrained(build_classifier(config.model.arch, num_classes=3), checkpoint)


def test_a_named_arch_is_told_by_its_shapes_and_a_custom_model_is_written_as_its_stages(tmp_path):
    torch.save(build_classifier("small").state_dict(), tmp_path / "small.pth")
    with pytest.raises(CheckpointError) as error:
        load_pretrained(build_classifier(CUSTOM), tmp_path / "small.pth")
    assert f"The model is arch \"{CUSTOM_TEXT}\"; the checkpoint's backbone is arch 'small': set model.arch=small" in (
        str(error.value)
    )
    assert arch_text(build_classifier("x_small").backbone.arch) == "x_small"
