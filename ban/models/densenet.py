"""DenseNet-BC (Huang et al., 2017) for 28×28 and 32×32 images, with the paper's uneven depths.

``densenet-bc-<depth>-<growth>``: depth = 2L + 4 for L bottleneck layers in 3 dense blocks
(each layer is two convolutions; the 4 are the stem, two transitions and the classifier).

    stem        3×3 conv, in_channels → 2·growth
    dense layer BN–ReLU–conv1×1 (4·growth)–BN–ReLU–conv3×3 (growth) [–dropout], output
                concatenated to its input
    transition  BN–ReLU–conv1×1 (⌊compression·c⌋ channels)–2×2 average pool, between blocks
    head        BN–ReLU, adaptive average pool to 1×1, flatten, linear → num_classes

Split of L over the blocks: ⌊L/3⌋ each, remainder placed symmetrically — a remainder of 1
goes to the middle block, of 2 to the first and last (L=43 → 14, 15, 14; L=38 → 13, 12, 13).
Depths 6n+4 give the standard even split. ``blocks=(a, b, c)`` sets the split explicitly
(a + b + c must equal L). Of the even splits, the symmetric one lands closest to the BAN
paper's Table 1 sizes for DenseNet-90-60, 80-80 and 80-120.

Parameters at 3×32×32 (this module vs. BAN paper Table 1, a CIFAR-10 table):

    model                 blocks        10 classes   100 classes   paper
    densenet-bc-112-33    18, 18, 18      6.893M       6.988M       6.3M
    densenet-bc-106-33    17, 17, 17      6.271M       6.361M      (6.3M)
    densenet-bc-90-60     14, 15, 14     15.687M      15.824M      16.1M
    densenet-bc-80-80     13, 12, 13     22.720M      22.884M      22.4M
    densenet-bc-80-120    13, 12, 13     51.022M      51.268M      50.4M

The paper's 6.3M "DenseNet-112-33" is the size of a 17-layers-per-block net, i.e. depth 106:
the paper names it "112-33", "116-33" and "106-33" in different places, and says it is the
building block of Dutt et al.'s 4-branch, 25M-parameter coupled ensemble (≈ 6.3M a branch,
as 4 × 6.27M). This module keeps the
standard depth convention, so ``densenet-bc-106-33`` is the 6.3M model. (The paper's Table 4
also lists its DenseNet-90-60 teacher at 22.4M, the 80-80 size.)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ban.models.layers import StemStagesHead, init_weights, preact_head
from ban.models.registry import MODELS


def split_layers(depth: int, num_blocks: int = 3) -> tuple[int, ...]:
    """Bottleneck layers per block for ``depth = 2L + 4``: ⌊L/num_blocks⌋ each, remainder symmetric."""
    if depth < 2 * num_blocks + 4 or depth % 2:
        raise ValueError(
            f"densenet-bc depth must be 2L+4 with at least {num_blocks} bottleneck layers "
            f"(even, >= {2 * num_blocks + 4}), got {depth}"
        )
    total = (depth - 4) // 2
    base, remainder = divmod(total, num_blocks)
    blocks = [base] * num_blocks
    # Place the remainder symmetrically: centre first when it is odd, then outer pairs.
    order: list[int] = []
    if remainder % 2:
        order.append(num_blocks // 2)
    for offset in range(num_blocks // 2):
        order += [offset, num_blocks - 1 - offset]
    for index in order[:remainder]:
        blocks[index] += 1
    return tuple(blocks)


def stage_channels(
    depth: int, growth: int, blocks: Sequence[int] | None = None, compression: float = 0.5
) -> tuple[int, ...]:
    """Each dense block's output width after a compressing 1×1 conv: ⌊compression·c_out⌋.

    For all blocks but the last this is the transition's output; for the last it is what a
    transition would output. These are the stage widths the BAN paper's Table 5 ResNet
    students match (DenseNet-90-60: 480, 690, 765).
    """
    blocks = _check_blocks(depth, blocks)
    channels = 2 * growth
    out = []
    for layers in blocks:
        channels = int((channels + layers * growth) * compression)
        out.append(channels)
    return tuple(out)


def _check_blocks(depth: int, blocks: Sequence[int] | None) -> tuple[int, ...]:
    if blocks is None:
        return split_layers(depth)
    blocks = tuple(int(b) for b in blocks)
    if not blocks or min(blocks) < 1:
        raise ValueError(f"densenet-bc blocks must be positive layer counts, got {blocks}")
    if 2 * sum(blocks) + 4 != depth:
        raise ValueError(
            f"densenet-bc blocks {blocks} hold {sum(blocks)} layers but depth {depth} needs {(depth - 4) // 2}"
        )
    return blocks


class BottleneckLayer(nn.Module):
    """BN–ReLU–conv1×1 (4·growth)–BN–ReLU–conv3×3 (growth) on the concatenation of its inputs."""

    def __init__(self, in_channels: int, growth: int, dropout: float):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, 4 * growth, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(4 * growth)
        self.conv2 = nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        hidden = self.conv1(self.relu(self.bn1(torch.cat(features, 1))))
        return self.dropout(self.conv2(self.relu(self.bn2(hidden))))


class DenseBlock(nn.Module):
    def __init__(self, in_channels: int, layers: int, growth: int, dropout: float):
        super().__init__()
        self.layers = nn.ModuleList(
            BottleneckLayer(in_channels + i * growth, growth, dropout) for i in range(layers)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.layers:
            features.append(layer(features))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(
            nn.BatchNorm2d(in_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.AvgPool2d(2),
        )


class DenseNetBC(StemStagesHead):
    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        depth: int,
        growth: int,
        blocks: Sequence[int] | None = None,
        compression: float = 0.5,
        dropout: float = 0.0,
    ):
        super().__init__()
        if growth < 1:
            raise ValueError(f"densenet-bc growth must be a positive integer, got {growth}")
        if not 0.0 < compression <= 1.0:
            raise ValueError(f"densenet-bc compression must be in (0, 1], got {compression}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"densenet-bc dropout must be in [0, 1), got {dropout}")
        self.blocks = _check_blocks(depth, blocks)
        channels = 2 * growth
        self.stem = nn.Conv2d(in_channels, channels, 3, padding=1, bias=False)
        stages: list[nn.Module] = []
        for index, layers in enumerate(self.blocks):
            stages.append(DenseBlock(channels, layers, growth, dropout))
            channels += layers * growth
            if index < len(self.blocks) - 1:
                reduced = int(channels * compression)
                stages.append(Transition(channels, reduced))
                channels = reduced
        self.stages = nn.Sequential(*stages)
        self.head = preact_head(channels)
        self.classifier = nn.Linear(channels, num_classes)
        init_weights(self)


@MODELS.register("densenet-bc-<depth>-<growth>")
def densenet_bc(in_channels: int, num_classes: int, depth: int, growth: int, **kwargs) -> DenseNetBC:
    return DenseNetBC(in_channels, num_classes, depth, growth, **kwargs)
