"""What the tests know about each published size, in one table keyed by the library's own arch
names (``mobilevit.models.mobilevit.ARCHS``): its zoo classifier, its names in the peer
libraries, and the channels the models must have."""

from __future__ import annotations

from dataclasses import dataclass

from mobilevit.models.mobilevit import ARCHS


@dataclass(frozen=True)
class PublishedArch:
    zoo_name: str
    timm_name: str
    huggingface: dict  # MobileViTConfig's size arguments
    stage_channels: tuple[int, ...]  # the five stage outputs, the last after the final expansion

    @property
    def pooled_channels(self) -> int:
        return self.stage_channels[-1]


PUBLISHED = {
    "small": PublishedArch(
        "mobilevit-small_3rdparty_in1k",
        "mobilevit_s",
        dict(neck_hidden_sizes=[16, 32, 64, 96, 128, 160, 640], hidden_sizes=[144, 192, 240], expand_ratio=4.0),
        (32, 64, 96, 128, 640),
    ),
    "x_small": PublishedArch(
        "mobilevit-xsmall_3rdparty_in1k",
        "mobilevit_xs",
        dict(neck_hidden_sizes=[16, 32, 48, 64, 80, 96, 384], hidden_sizes=[96, 120, 144], expand_ratio=4.0),
        (32, 48, 64, 80, 384),
    ),
    "xx_small": PublishedArch(
        "mobilevit-xxsmall_3rdparty_in1k",
        "mobilevit_xxs",
        dict(neck_hidden_sizes=[16, 16, 24, 48, 64, 80, 320], hidden_sizes=[64, 80, 96], expand_ratio=2.0),
        (16, 24, 48, 64, 320),
    ),
}
ARCH_NAMES = tuple(ARCHS)
assert set(PUBLISHED) == set(ARCH_NAMES), "every named arch of the library needs its row here"


# A five-stage arch small enough for quick tests of every task (the detector needs five stages).
TINY_ARCH = [
    ["mobilenetv2", 8, 1, 1, 2],
    ["mobilenetv2", 16, 2, 1, 2],
    ["mobilevit", 24, 2, 24, 48, 1, 2],
    ["mobilevit", 32, 2, 32, 64, 1, 2],
    ["mobilevit", 40, 2, 40, 80, 1, 2],
]
