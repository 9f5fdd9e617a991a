"""Pieces shared by the convolutional families: weight initialisation, the pre-activation block,
its entry and head, and the stem–stages–head–classifier forward.

``init_weights(model)`` visits ``model.modules()`` in registration order and sets

    nn.Conv2d       weight ~ N(0, 2 / fan_out) (He normal, fan-out mode); bias untouched
    nn.BatchNorm2d  weight = 1, bias = 0
    nn.Linear       bias = 0; weight keeps PyTorch's default (uniform, fan-in scaled)

Only the convolutions draw random numbers, one tensor after another in that order, so two
models with the same modules registered in the same order get the same weights from the same
seed.

``PreActBlock``: the pre-activation basic block (He et al., 2016b; with dropout, the wide
residual block of Zagoruyko & Komodakis, 2016)

    a   = ReLU(BN₁(x))
    out = conv3×3₂(dropout(ReLU(BN₂(conv3×3₁(a)))))  + shortcut

where conv3×3₁ carries the stride, and shortcut = x where shape is kept, else a 1×1 strided
projection conv of ``a`` (the first BN–ReLU feeds both paths). ``dropout = 0`` is the identity.
Submodules, in registration order (the ``state_dict`` keys): ``bn1``, ``conv1``, ``bn2``,
``conv2``, ``projection`` (only where shape changes); ``dropout`` and ``relu`` hold no state.
"""

from __future__ import annotations

import torch
from torch import nn


def init_weights(model: nn.Module) -> None:
    """He-normal (fan-out) convolutions, unit BN scale, zero BN and linear biases."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.zeros_(module.bias)


def preact_entry(block: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A pre-activation block's first step: ``a = ReLU(BN₁(x))`` (``block.bn1``, ``block.relu``) and
    its shortcut, ``x`` or ``block.projection(a)``; returns ``(a, shortcut)``."""
    activated = block.relu(block.bn1(x))
    return activated, x if block.projection is None else block.projection(activated)


def preact_head(channels: int) -> nn.Sequential:
    """The head of the pre-activation families before their linear classifier: BN–ReLU, adaptive
    average pool to 1×1, flatten (``head.0`` holds the BN's state)."""
    return nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten())


class StemStagesHead(nn.Module):
    """A network that is ``classifier(head(stages(stem(x))))``; subclasses register the four."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head(self.stages(self.stem(x))))


def projection(in_channels: int, out_channels: int, stride: int) -> nn.Conv2d | None:
    """The 1×1 (stride) projection a pre-activation block's shortcut needs when its shape changes;
    None for the identity shortcut."""
    if stride != 1 or in_channels != out_channels:
        return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
    return None


class PreActBlock(nn.Module):
    """BN–ReLU–conv3×3 (stride)–BN–ReLU–dropout–conv3×3 plus identity or 1×1 projection shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, dropout: float = 0.0):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.relu = nn.ReLU(inplace=True)
        self.projection = projection(in_channels, out_channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        activated, shortcut = preact_entry(self, x)
        out = self.conv2(self.dropout(self.relu(self.bn2(self.conv1(activated)))))
        return out + shortcut
