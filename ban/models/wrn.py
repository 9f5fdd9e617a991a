"""Wide residual networks (Zagoruyko & Komodakis, 2016) for 28×28 and 32×32 images.

``wrn-<depth>-<width>``: depth = 6n + 4, n pre-activation basic blocks per stage.

    stem   3×3 conv, in_channels → 16
    stage  n blocks of BN–ReLU–conv3×3–BN–ReLU–dropout–conv3×3 (+ shortcut), widths
           16·width, 32·width, 64·width, strides 1, 2, 2
    head   BN–ReLU, adaptive average pool to 1×1, flatten, linear → num_classes

The shortcut is the identity where shape is kept and a 1×1 projection conv otherwise (the
block's first BN–ReLU then feeds both paths, as in the reference code). ``dropout`` (default
0.0; the paper's recipe uses 0.3) sits between the two convolutions of every block
(``ban.models.layers.PreActBlock``).

Parameters at 3×32×32 (this module vs. BAN paper Table 1):

    model       10 classes   100 classes   paper
    wrn-28-1      0.369M       0.375M      0.38M
    wrn-28-2      1.468M       1.479M      1.48M
    wrn-28-5      9.133M       9.162M      9.16M
    wrn-28-10    36.479M      36.537M      36M   (36.5M in Zagoruyko & Komodakis)

Table 1 is a CIFAR-10 table, but its sizes round the 100-class counts.
"""

from __future__ import annotations

from torch import nn

from ban.models.layers import PreActBlock, StemStagesHead, init_weights, preact_head
from ban.models.registry import MODELS


class WideResNet(StemStagesHead):
    def __init__(self, in_channels: int, num_classes: int, depth: int, width: int, dropout: float = 0.0):
        super().__init__()
        if depth < 10 or (depth - 4) % 6:
            raise ValueError(f"wrn depth must be 6n+4 with n >= 1 (10, 16, 22, 28, ...), got {depth}")
        if width < 1:
            raise ValueError(f"wrn width must be a positive integer, got {width}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"wrn dropout must be in [0, 1), got {dropout}")
        blocks_per_stage = (depth - 4) // 6
        widths = [16 * width, 32 * width, 64 * width]
        self.stem = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        layers: list[nn.Module] = []
        channels = 16
        for stage, stage_width in enumerate(widths):
            for index in range(blocks_per_stage):
                stride = 2 if stage > 0 and index == 0 else 1
                layers.append(PreActBlock(channels, stage_width, stride, dropout))
                channels = stage_width
        self.stages = nn.Sequential(*layers)
        self.head = preact_head(channels)
        self.classifier = nn.Linear(channels, num_classes)
        init_weights(self)


@MODELS.register("wrn-<depth>-<width>")
def wrn(in_channels: int, num_classes: int, depth: int, width: int, **kwargs) -> WideResNet:
    return WideResNet(in_channels, num_classes, depth, width, **kwargs)
