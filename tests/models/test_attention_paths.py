"""v1's attention trains on a CPU through two matrix products around a softmax under bfloat16, and
in float32 over at most FLOAT32_PRODUCTS_MAX_TOKENS tokens (faster there than
scaled_dot_product_attention's backward pass), and everywhere else through
scaled_dot_product_attention; both give the same values and gradients."""

import copy

import pytest
import torch

from mobilevit.models import mobilevit as mobilevit_module
from mobilevit.models.mobilevit import FLOAT32_PRODUCTS_MAX_TOKENS, Attention


def attention_calls(monkeypatch) -> list[torch.dtype]:
    """The dtypes scaled_dot_product_attention is called with, from now on."""
    calls = []
    fused = torch.nn.functional.scaled_dot_product_attention

    def counted(q, *args, **kwargs):
        calls.append(q.dtype)
        return fused(q, *args, **kwargs)

    monkeypatch.setattr(mobilevit_module.F, "scaled_dot_product_attention", counted)
    return calls


def attention_and_tokens(tokens: int = 50) -> tuple[Attention, torch.Tensor]:
    torch.manual_seed(0)
    return Attention(dim=32, num_heads=4), torch.randn(6, tokens, 32)


def test_bfloat16_training_on_a_cpu_takes_the_products_and_matches_the_fused_kernel(monkeypatch):
    attention, tokens = attention_and_tokens()
    fused_attention = copy.deepcopy(attention)
    inputs = [tokens.clone().requires_grad_(), tokens.clone().requires_grad_()]
    calls = attention_calls(monkeypatch)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        products = attention(inputs[0])
    assert calls == []  # the products path
    with (
        torch.autocast("cpu", dtype=torch.bfloat16),
        torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.FLASH_ATTENTION),
    ):
        q, k, v = fused_attention.qkv(inputs[1]).reshape(6, 50, 3, 4, -1).permute(2, 0, 3, 1, 4).unbind(0)
        fused = torch.nn.functional.scaled_dot_product_attention(q, k, v, scale=fused_attention.scale)
        fused = fused_attention.proj(fused.transpose(1, 2).reshape(6, 50, 32))
    scale = fused.float().abs().max()
    assert (products.float() - fused.float()).abs().max() <= 0.02 * scale  # bfloat16 rounding
    products.float().square().sum().backward()
    fused.float().square().sum().backward()
    for mine, theirs in [(inputs[0].grad, inputs[1].grad), *zip(attention.parameters(), fused_attention.parameters())]:
        gradient = theirs.grad if isinstance(theirs, torch.nn.Parameter) else theirs
        mine = mine.grad if isinstance(mine, torch.nn.Parameter) else mine
        assert (mine - gradient).abs().max() <= 0.03 * gradient.abs().max()


def test_float32_training_over_few_tokens_takes_the_products_and_matches_the_fused_kernel(monkeypatch):
    attention, tokens = attention_and_tokens(FLOAT32_PRODUCTS_MAX_TOKENS)
    fused_attention = copy.deepcopy(attention)
    inputs = [tokens.clone().requires_grad_(), tokens.clone().requires_grad_()]
    calls = attention_calls(monkeypatch)
    products = attention(inputs[0])
    assert calls == []  # the products path
    with torch.no_grad():  # without gradients the same layer takes the fused kernel
        fused_without_gradients = fused_attention(inputs[1])
    assert calls == [torch.float32]
    with torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.FLASH_ATTENTION):
        q, k, v = fused_attention.qkv(inputs[1]).reshape(6, -1, 3, 4, 8).permute(2, 0, 3, 1, 4).unbind(0)
        fused = torch.nn.functional.scaled_dot_product_attention(q, k, v, scale=fused_attention.scale)
        fused = fused_attention.proj(fused.transpose(1, 2).reshape(6, -1, 32))
    torch.testing.assert_close(products, fused, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fused_without_gradients, fused, rtol=1e-5, atol=1e-5)
    products.square().sum().backward()
    fused.square().sum().backward()
    torch.testing.assert_close(inputs[0].grad, inputs[1].grad, rtol=1e-4, atol=1e-5)
    for mine, theirs in zip(attention.parameters(), fused_attention.parameters()):
        torch.testing.assert_close(mine.grad, theirs.grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", ["float32 training", "bfloat16 without gradients", "bfloat16 weights, eval"])
def test_every_other_case_keeps_the_fused_kernel(monkeypatch, case):
    attention, tokens = attention_and_tokens(FLOAT32_PRODUCTS_MAX_TOKENS + 1)
    calls = attention_calls(monkeypatch)
    if case == "float32 training":  # over more tokens than the products are faster for
        attention(tokens.requires_grad_()).sum().backward()
        expected = [torch.float32]
    elif case == "bfloat16 without gradients":
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            attention(tokens)
        expected = [torch.bfloat16]
    else:
        attention.to(torch.bfloat16).eval().requires_grad_(False)
        attention(tokens.to(torch.bfloat16))
        expected = [torch.bfloat16]
    assert calls == expected
