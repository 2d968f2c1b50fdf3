"""timm's contract holds for MobileViT v2 classifiers too: pooled features, TorchScript and torch.fx."""

import torch

from mobilevit.models import build_classifier, symbolic_trace


def test_v2_scripts_and_traces_to_the_eager_logits_at_any_size():
    torch.manual_seed(0)
    model = build_classifier("v2_050", num_classes=10).eval()
    scripted, traced = torch.jit.script(model), symbolic_trace(model)
    for size in (64, 72):  # 72: odd stage maps, resized up inside the blocks
        image = torch.rand(2, 3, size, size)
        with torch.no_grad():
            eager = model(image)
            assert torch.allclose(scripted(image), eager, atol=1e-5, rtol=0)
            assert torch.allclose(traced(image), eager, atol=1e-5, rtol=0)
    pooled = build_classifier("v2_050", num_classes=0).eval()
    with torch.no_grad():
        assert pooled(torch.rand(1, 3, 64, 64)).shape == (1, pooled.num_features)
