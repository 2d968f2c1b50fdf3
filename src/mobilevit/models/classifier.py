"""Image classifier: MobileViT backbone -> global average pooling -> linear head."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UsageError
from .backbone import build_backbone
from .mobilevit import MobileViT, Stage

if TYPE_CHECKING:  # a value set from outside: models import nothing else of ours
    from ..data.transforms import Preprocessing


class LinearHead(nn.Module):
    """Optional dropout then a linear layer (key ``fc``, as mmpretrain's ``LinearClsHead``).

    With ``num_classes=0`` the linear layer is an identity (no keys), as timm's: the head passes the
    pooled features through.
    """

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc = linear_layer(in_channels, num_classes)

    def forward(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.dropout(x)
        return x if pre_logits else self.fc(x)


def linear_layer(in_channels: int, num_classes: int) -> nn.Module:
    """A freshly initialised ``nn.Linear`` to ``num_classes`` outputs, or an identity for 0."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
        raise UsageError(f"num_classes must be a positive integer, or 0 for no classifier, got {num_classes!r}")
    if num_classes == 0:
        return nn.Identity()
    fc = nn.Linear(in_channels, num_classes)
    nn.init.trunc_normal_(fc.weight, std=0.02)
    nn.init.zeros_(fc.bias)
    return fc


class ImageClassifier(nn.Module):
    """A MobileViT classifier with the parameter layout of mmpretrain's ``ImageClassifier`` and
    timm's model interface.

    ``model(x)`` gives class scores (logits), or with ``num_classes=0`` the pooled features;
    ``extract_feat(x)`` the pooled features of the backbone's ``out_indices``; ``loss`` and
    ``predict`` are the training and inference paths. As timm's models: ``forward_features`` (the
    last feature map), ``forward_head(pre_logits=...)``, ``num_features``, ``reset_classifier``,
    ``get_classifier`` and ``set_grad_checkpointing``.
    ``preprocessing`` (how images are prepared for the weights; None: as for the official ones) and
    ``class_names`` (the outputs' names, in order; empty: unnamed) describe the weights: the zoo,
    configs and checkpoints set them, :func:`mobilevit.inference_model` reads them.

    Any backbone that returns a list of feature maps and describes them in ``feature_info``
    (:class:`~mobilevit.models.features.FeatureInfo`) will do; the head reads the last map.
    """

    task = "classification"  # which :mod:`mobilevit.tasks` task serves this model
    __jit_unused_properties__ = ["device"]  # TorchScript compiles properties not named here

    def __init__(
        self, backbone: MobileViT, num_classes: int = 1000, dropout: float = 0.0, label_smoothing: float = 0.0
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.num_classes = num_classes
        self.label_smoothing = label_smoothing
        self.preprocessing: Preprocessing | None = None
        self.class_names: tuple[str, ...] = ()
        self.num_features: int = backbone.feature_info.channels()[-1]
        self.head = LinearHead(self.num_features, num_classes, dropout)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def extract_feat(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Globally average-pooled features, one (B, C) tensor per backbone output."""
        return tuple(feature.mean(dim=(2, 3)) for feature in self.backbone(x))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone's last feature map (B, num_features, H/32, W/32), before pooling."""
        return self.backbone(x)[-1]

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Pool a :meth:`forward_features` map and apply the head; ``pre_logits``: stop before the
        linear layer, giving the (B, num_features) pooled features (after the head's dropout)."""
        return self.head(x.mean(dim=(2, 3)), pre_logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def get_classifier(self) -> nn.Module:
        """The final linear layer (an identity with no classes)."""
        return self.head.fc

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        """Replace the linear layer by a fresh one with ``num_classes`` outputs (0: none, the model
        gives pooled features), on the old one's device; the class names are dropped."""
        if global_pool not in (None, "avg"):
            raise UsageError(f"global_pool must be 'avg' (the only pooling of this classifier), got {global_pool!r}")
        parameter = next(self.backbone.parameters())
        self.head.fc = linear_layer(self.num_features, num_classes).to(parameter.device, parameter.dtype)
        self.num_classes = num_classes
        self.class_names = ()

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """See :meth:`MobileViT.set_grad_checkpointing`."""
        self.backbone.set_grad_checkpointing(enable)

    def fuse(self) -> ImageClassifier:
        """Fold the backbone's BatchNorms into its convolutions for inference (see :meth:`MobileViT.fuse`)."""
        self.backbone.fuse()
        return self.eval()

    def loss(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy (with the configured label smoothing) of a batch against class indices."""
        self._require_classes()
        return F.cross_entropy(self(x), labels, label_smoothing=self.label_smoothing)

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Softmax scores (B, num_classes) and the predicted label (B,) of each image."""
        self._require_classes()
        scores = self(x).softmax(dim=1)
        return scores, scores.argmax(dim=1)

    def _require_classes(self) -> None:
        if self.num_classes == 0:
            raise RuntimeError("this classifier has no classes (num_classes=0): call reset_classifier(N) first")


def build_classifier(
    arch: str | Sequence[Stage | Sequence] = "small",
    num_classes: int = 1000,
    dropout: float = 0.0,
    label_smoothing: float = 0.0,
    **backbone_options: Any,
) -> ImageClassifier:
    """Build a MobileViT classifier; ``backbone_options`` go to :class:`MobileViT` (or, for a v2 arch
    such as ``v2_100``, :class:`~mobilevit.models.mobilevit_v2.MobileViTV2`).

    Its backbone computes channels-last unless told otherwise (faster, and unseen behind the pooling).
    """
    backbone_options.setdefault("channels_last", True)
    return ImageClassifier(build_backbone(arch, **backbone_options), num_classes, dropout, label_smoothing)
