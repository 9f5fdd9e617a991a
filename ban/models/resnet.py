"""CIFAR residual networks (He et al., 2016a, 2016b) for 28×28 and 32×32 images.

``resnet-<depth>``: the original post-activation net, depth = 6n + 2 (20, 32, 56, 110).

    stem   3×3 conv–BN–ReLU, in_channels → 16
    stage  n blocks of conv3×3–BN–ReLU–conv3×3–BN, added to the shortcut, then ReLU;
           widths 16, 32, 64, strides 1, 2, 2
    head   adaptive average pool to 1×1, flatten, linear → num_classes

Shortcuts are option B: identity where shape is kept, 1×1 conv (stride 2)–BN projection where
it changes (2 per net; option A's zero padding would save ~1% of the parameters).

``preact-resnet-<depth>``: pre-activation net (He et al., 2016b). Basic blocks
BN–ReLU–conv3×3–BN–ReLU–conv3×3 with depth = 6n + 2, or with ``bottleneck=True`` blocks
BN–ReLU–conv1×1–BN–ReLU–conv3×3–BN–ReLU–conv1×1 (inner width = output width / 4) with
depth = 9n + 2 (164, 1001). Projection shortcuts are 1×1 convs fed by the block's first
BN–ReLU; a final BN–ReLU precedes pooling. The basic block is ``ban.models.layers.PreActBlock``
(the WRN block) without dropout.

Keyword arguments of ``preact-resnet`` for the BAN paper's Table 5 students (DenseNet-90-60
teacher; "Pre-ResNet-U-R" = U units per block, channel ratio R):

    units     residual blocks per stage; replaces the n derived from depth (depth must
              still be a valid name)
    channels  output width of each stage; default (16, 32, 64), or (64, 128, 256) with
              bottleneck=True
    width     channel ratio multiplying every stage width (rounded, at least 1)
    stem      stem conv width (default 16)

A Table 5 student "U-R" is ``preact-resnet-<d>`` with ``units=U``, ``width=R``,
``stem=120`` (the teacher's stem width, 2·growth) and ``channels=(480, 690, 765)``
(``ban.models.densenet.stage_channels(90, 60)``: each teacher block's output after its
compressing 1×1 conv). Basic blocks give the "Wide-ResNet" students, ``bottleneck=True``
the "Pre-ResNet" ones. Parameters at 3×32×32, 100 classes, vs. the paper's Table 5:

    student                 here      paper
    Wide-ResNet-1-1        20.88M     20.9M
    Match-Wide-ResNet-2-1  44.14M     43.1M
    Wide-ResNet-4-0.5      22.81M     24.3M
    Wide-ResNet-4-1        90.66M     87.3M
    Pre-ResNet-14-1        20.15M     17.7M
    Pre-ResNet-14-0.5       5.08M      7.3M

The Wide-ResNet sizes agree within 6%; the paper does not say how its Pre-ResNet students
apply the ratio, and no single reading matches both of their sizes.

Parameters at 3×32×32, 10 classes: resnet-20/32/56/110 0.272M / 0.467M / 0.856M / 1.731M
(He et al. report 0.27M / 0.46M / 0.85M / 1.7M with option A); preact-resnet-164 and -1001
with ``bottleneck=True`` 1.703M and 10.33M (10.35M with 100 classes; reported 1.7M and 10.2M,
the latter also the BAN paper's Table 5 Pre-ResNet-1001 baseline).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ban.models.layers import PreActBlock, init_weights, preact_entry, projection
from ban.models.registry import MODELS


class BasicBlock(nn.Module):
    """Post-activation block: conv3×3–BN–ReLU–conv3×3–BN + shortcut, then ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class PreActBottleneck(nn.Module):
    """BN–ReLU–conv1×1–BN–ReLU–conv3×3–BN–ReLU–conv1×1 + shortcut; inner width out/4."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        inner = max(1, out_channels // 4)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, inner, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(inner)
        self.conv2 = nn.Conv2d(inner, inner, 3, stride=stride, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(inner)
        self.conv3 = nn.Conv2d(inner, out_channels, 1, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.projection = projection(in_channels, out_channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        activated, shortcut = preact_entry(self, x)
        out = self.conv2(self.relu(self.bn2(self.conv1(activated))))
        out = self.conv3(self.relu(self.bn3(out)))
        return out + shortcut


def _blocks_per_stage(family: str, depth: int, layers_per_block: int) -> int:
    step = 3 * layers_per_block
    if depth < step + 2 or (depth - 2) % step:
        examples = ", ".join(str(step * n + 2) for n in (1, 2, 3))
        raise ValueError(f"{family} depth must be {step}n+2 with n >= 1 ({examples}, ...), got {depth}")
    return (depth - 2) // step


class CifarResNet(nn.Module):
    """Stem, three stages of residual blocks (strides 1, 2, 2), pooled linear classifier."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        block: type[nn.Module],
        units: int,
        channels: Sequence[int],
        stem: int,
        preact: bool,
    ):
        super().__init__()
        self.stem = nn.Conv2d(in_channels, stem, 3, padding=1, bias=False)
        # Post-activation nets normalise the stem; pre-activation blocks do it themselves.
        self.stem_activation = nn.Identity() if preact else nn.Sequential(nn.BatchNorm2d(stem), nn.ReLU(inplace=True))
        layers: list[nn.Module] = []
        current = stem
        for stage, stage_width in enumerate(channels):
            for index in range(units):
                stride = 2 if stage > 0 and index == 0 else 1
                layers.append(block(current, stage_width, stride))
                current = stage_width
        self.stages = nn.Sequential(*layers)
        head: list[nn.Module] = [nn.BatchNorm2d(current), nn.ReLU(inplace=True)] if preact else []
        self.head = nn.Sequential(*head, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(current, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.stages(self.stem_activation(self.stem(x)))
        return self.classifier(self.head(out))


@MODELS.register("resnet-<depth>")
def resnet(in_channels: int, num_classes: int, depth: int) -> CifarResNet:
    units = _blocks_per_stage("resnet", depth, 2)
    return CifarResNet(in_channels, num_classes, BasicBlock, units, (16, 32, 64), stem=16, preact=False)


@MODELS.register("preact-resnet-<depth>")
def preact_resnet(
    in_channels: int,
    num_classes: int,
    depth: int,
    units: int | None = None,
    width: float = 1.0,
    channels: Sequence[int] | None = None,
    stem: int = 16,
    bottleneck: bool = False,
) -> CifarResNet:
    derived = _blocks_per_stage("preact-resnet", depth, 3 if bottleneck else 2)
    if units is None:
        units = derived
    if int(units) != units or units < 1:
        raise ValueError(f"preact-resnet units must be a positive integer, got {units}")
    if width <= 0:
        raise ValueError(f"preact-resnet width must be positive, got {width}")
    if stem < 1:
        raise ValueError(f"preact-resnet stem must be a positive integer, got {stem}")
    if channels is None:
        channels = (64, 128, 256) if bottleneck else (16, 32, 64)
    if not channels or min(channels) < 1:
        raise ValueError(f"preact-resnet channels must be positive widths, got {tuple(channels)}")
    scaled = tuple(max(1, round(c * width)) for c in channels)
    block = PreActBottleneck if bottleneck else PreActBlock
    return CifarResNet(in_channels, num_classes, block, int(units), scaled, stem=stem, preact=True)
