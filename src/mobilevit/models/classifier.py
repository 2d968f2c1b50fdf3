"""Image classifier: MobileViT backbone -> global average pooling -> linear head."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from .mobilevit import MobileViT, Stage

if TYPE_CHECKING:  # a value set from outside: models import nothing else of ours
    from ..data.transforms import Preprocessing


class LinearHead(nn.Module):
    """Optional dropout then a linear layer (key ``fc``, as mmpretrain's ``LinearClsHead``)."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer, got {num_classes}")
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_channels, num_classes)
        nn.init.trunc_normal_(self.fc.weight, std=0.02)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(x))


class ImageClassifier(nn.Module):
    """A MobileViT classifier with the parameter layout of mmpretrain's ``ImageClassifier``.

    ``model(x)`` gives class scores (logits); ``extract_feat(x)`` the pooled features of the
    backbone's ``out_indices``; ``loss`` and ``predict`` are the training and inference paths.
    ``preprocessing`` (how images are prepared for the weights; None: as for the official ones) and
    ``class_names`` (the outputs' names, in order; empty: unnamed) describe the weights: the zoo,
    configs and checkpoints set them, :func:`mobilevit.inference_model` reads them.
    """

    task = "classification"  # which :mod:`mobilevit.tasks` task serves this model

    def __init__(
        self, backbone: MobileViT, num_classes: int = 1000, dropout: float = 0.0, label_smoothing: float = 0.0
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.num_classes = num_classes
        self.label_smoothing = label_smoothing
        self.preprocessing: Preprocessing | None = None
        self.class_names: tuple[str, ...] = ()
        self.head = LinearHead(backbone.stage_channels[backbone.out_indices[-1]], num_classes, dropout)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def extract_feat(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Globally average-pooled features, one (B, C) tensor per backbone output."""
        return tuple(feature.mean(dim=(2, 3)) for feature in self.backbone(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.extract_feat(x)[-1])

    def fuse(self) -> ImageClassifier:
        """Fold the backbone's BatchNorms into its convolutions for inference (see :meth:`MobileViT.fuse`)."""
        self.backbone.fuse()
        return self.eval()

    def loss(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy (with the configured label smoothing) of a batch against class indices."""
        return F.cross_entropy(self(x), labels, label_smoothing=self.label_smoothing)

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Softmax scores (B, num_classes) and the predicted label (B,) of each image."""
        scores = self(x).softmax(dim=1)
        return scores, scores.argmax(dim=1)


def build_classifier(
    arch: str | Sequence[Stage | Sequence] = "small",
    num_classes: int = 1000,
    dropout: float = 0.0,
    label_smoothing: float = 0.0,
    **backbone_options: Any,
) -> ImageClassifier:
    """Build a MobileViT classifier; ``backbone_options`` go to :class:`MobileViT`.

    Its backbone computes channels-last unless told otherwise (faster, and unseen behind the pooling).
    """
    backbone_options.setdefault("channels_last", True)
    return ImageClassifier(MobileViT(arch, **backbone_options), num_classes, dropout, label_smoothing)
