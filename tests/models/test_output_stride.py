"""The dense-task backbone (output stride 16 and 8, no final expansion) against Hugging Face's."""

import pytest
import torch

from arch_table import ARCH_NAMES, PUBLISHED
from mobilevit.convert import to_mobilevit
from mobilevit.models import MobileViT
from mobilevit.models.mobilevit import ARCHS, stage_strides
from reference_weights import deterministic_input, deterministic_state_dict

transformers = pytest.importorskip("transformers")


def test_stage_strides_follow_the_dilation_rule():
    arch = ARCHS["small"]
    assert stage_strides(arch, 32) == [(1, 1), (2, 1), (2, 1), (2, 1), (2, 1)]
    assert stage_strides(arch, 16) == [(1, 1), (2, 1), (2, 1), (2, 1), (1, 1)]
    assert stage_strides(arch, 8) == [(1, 1), (2, 1), (2, 1), (1, 1), (1, 2)]
    with pytest.raises(ValueError, match="output_stride must be 8, 16 or 32"):
        stage_strides(arch, 4)


@pytest.mark.parametrize("output_stride", [16, 8])
@pytest.mark.parametrize("arch", ARCH_NAMES)
def test_dense_backbone_gives_hugging_faces_feature_map(arch, output_stride):
    config = transformers.MobileViTConfig(output_stride=output_stride, **PUBLISHED[arch].huggingface)
    reference = transformers.MobileViTModel(config, expand_output=False).eval()
    reference.load_state_dict(deterministic_state_dict(reference.state_dict()))
    theirs = {f"mobilevit.{key}": value for key, value in reference.state_dict().items()}
    ours = {key.removeprefix("backbone."): value for key, value in to_mobilevit(theirs, "huggingface").items()}
    model = MobileViT(arch, output_stride=output_stride, expand_output=False, out_indices=(3, 4)).eval()
    model.load_state_dict(ours)  # strict: no conv_1x1_exp on either side
    assert model.stage_channels[-1] == PUBLISHED[arch].huggingface["neck_hidden_sizes"][5]

    image = deterministic_input(batch=1, height=250, width=187)
    with torch.no_grad():
        expected = reference(image, output_hidden_states=True)
        stage4, stage5 = model(image)
    assert stage5.shape[-2:] == (-(-250 // output_stride), -(-187 // output_stride))
    torch.testing.assert_close(stage5, expected.last_hidden_state, atol=1e-4, rtol=0)
    torch.testing.assert_close(stage4, expected.hidden_states[3], atol=1e-4, rtol=0)
