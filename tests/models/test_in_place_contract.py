"""BatchNorm2d and Swish work in place in inference, on tensors only their owner holds: a forward
hook that keeps a convolution's or a linear layer's output sees it as it was computed."""

import torch

from mobilevit.models import build_classifier
from mobilevit.models.mobilevit import FeedForward


def test_a_hook_keeps_the_output_it_was_given():
    torch.manual_seed(0)
    model = build_classifier("xx_small").eval()
    image = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        plain = model(image)
    kept = {}
    stem, ffn = model.backbone.stem, next(module for module in model.modules() if isinstance(module, FeedForward))
    stem.conv.register_forward_hook(lambda module, inputs, output: kept.setdefault("conv", output))
    ffn.layers[0][0].register_forward_hook(lambda module, inputs, output: kept.setdefault("linear", output))
    stem_input = {}
    ffn.register_forward_pre_hook(lambda module, inputs: stem_input.setdefault("ffn", inputs[0].clone()))
    with torch.no_grad():
        hooked = model(image)
        assert torch.equal(kept["conv"], stem.conv(image))  # not scaled by the BatchNorm after it
        assert torch.equal(kept["linear"], ffn.layers[0][0](stem_input["ffn"]))  # not overwritten by Swish
    assert torch.equal(hooked, plain)
