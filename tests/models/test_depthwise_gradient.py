"""A strided depthwise convolution trained in bfloat16 on a CPU takes its input gradient as a
stride-1 convolution of the output gradient spread onto a zero map (PyTorch's own kernel is several
times slower there); everywhere else it is the plain convolution. Both give the same values and
gradients."""

import copy

import pytest
import torch
import torch.nn.functional as F

from mobilevit.models.mobilevit import ConvNormAct, InvertedResidual, _SpreadGradientDepthwiseConv


@pytest.mark.parametrize(
    ("height", "width", "stride", "dilation", "kernel"),
    [(8, 8, 2, 1, 3), (9, 7, 2, 1, 3), (10, 11, 3, 2, 3), (7, 6, 2, 1, 5), (12, 12, 1, 2, 3)],
)
def test_the_spread_gradient_is_the_convolutions_gradient(height, width, stride, dilation, kernel):
    torch.manual_seed(0)
    x = torch.randn(2, 4, height, width, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(4, 1, kernel, kernel, dtype=torch.float64, requires_grad=True)
    out = _SpreadGradientDepthwiseConv.apply(x, weight, stride, dilation)
    expected = F.conv2d(x, weight, None, stride, dilation * (kernel // 2), dilation, 4)
    grad = torch.randn_like(expected)
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    for ours, reference in zip(
        torch.autograd.grad(out, (x, weight), grad), torch.autograd.grad(expected, (x, weight), grad)
    ):
        torch.testing.assert_close(ours, reference, rtol=1e-12, atol=1e-12)


def strided_depthwise() -> ConvNormAct:
    torch.manual_seed(0)
    return ConvNormAct(16, 16, 3, stride=2, groups=16).train()


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_bfloat16_training_spreads_the_gradient_and_matches_the_plain_convolution(memory_format):
    block = strided_depthwise()
    plain = copy.deepcopy(block)
    plain._spreads_gradient = lambda: False
    images = torch.randn(4, 16, 15, 15).contiguous(memory_format=memory_format)
    inputs = [images.clone().requires_grad_(), images.clone().requires_grad_()]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert block._spreads_gradient()
        out = block(inputs[0])
        expected = plain(inputs[1])
    torch.testing.assert_close(out, expected, rtol=0, atol=0)  # the same forward kernel
    out.float().square().sum().backward()
    expected.float().square().sum().backward()
    assert inputs[0].grad.is_contiguous(memory_format=memory_format)  # the input's layout is kept
    torch.testing.assert_close(inputs[0].grad, inputs[1].grad, rtol=2e-2, atol=2e-2)
    torch.testing.assert_close(block.conv.weight.grad, plain.conv.weight.grad, rtol=2e-2, atol=1e-1)


def test_other_convolutions_and_modes_keep_the_plain_convolution():
    block = strided_depthwise()
    assert not block._spreads_gradient()  # float32
    with torch.autocast("cpu", dtype=torch.bfloat16):
        with torch.no_grad():
            assert not block._spreads_gradient()
        assert not ConvNormAct(16, 16, 3, stride=1, groups=16)._spreads_gradient()  # stride 1
        assert not ConvNormAct(16, 16, 3, stride=2)._spreads_gradient()  # not depthwise
        assert block._spreads_gradient()


def test_a_downsampling_block_trains_in_bfloat16_through_it():
    torch.manual_seed(0)
    block = InvertedResidual(8, 16, stride=2, expand_ratio=2).train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = block(torch.randn(2, 8, 16, 16))
    out.float().mean().backward()
    assert out.shape == (2, 16, 8, 8)
    assert all(parameter.grad is not None for parameter in block.parameters())
