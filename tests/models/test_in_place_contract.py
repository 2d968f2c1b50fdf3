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
    stem, ffn = model.backbone.stem, next(module for module in model.modules() if isinstance(module, FeedForward))
    kept: dict[str, list[torch.Tensor]] = {"conv": [], "linear": [], "ffn input": []}

    def keep(name):
        def hook(module, inputs, output):  # returns None: the module's output stays its own
            kept[name].append(output)

        return hook

    stem.conv.register_forward_hook(keep("conv"))
    ffn.layers[0][0].register_forward_hook(keep("linear"))
    ffn.register_forward_pre_hook(lambda module, inputs: kept["ffn input"].append(inputs[0].clone()) and None)
    with torch.no_grad():
        hooked = model(image)
        conv_output, linear_output, ffn_input = kept["conv"][0], kept["linear"][0], kept["ffn input"][0]
        assert torch.allclose(conv_output, torch.nn.functional.conv2d(image, stem.conv.weight, None, 2, 1), atol=1e-5)
        linear = ffn.layers[0][0]
        assert torch.allclose(linear_output, torch.nn.functional.linear(ffn_input, linear.weight, linear.bias))
    assert torch.equal(hooked, plain)
