"""Small CNNs that make the CPU default study fast.

``cnn``: two 3×3 conv–BN–ReLU–maxpool stages (``width``, ``2·width`` channels), global
flatten, a hidden linear layer and the classifier. Works for any input ≥ 8×8.
"""

from __future__ import annotations

import torch
from torch import nn

from ban.models.registry import MODELS


class SmallCNN(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, width: int = 32, hidden: int = 128, dropout: float = 0.0):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1, bias=False),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(4),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(2 * width * 16, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


@MODELS.register("cnn")
def cnn(in_channels: int, num_classes: int, **kwargs) -> SmallCNN:
    return SmallCNN(in_channels, num_classes, **kwargs)
