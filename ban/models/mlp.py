"""Pixel models for theory-matched regimes that train in seconds on a CPU.

``linear``: softmax regression on the flattened pixels, ``z = W · vec(x) + b``.
``mlp-<width>``: one hidden ReLU layer of ``width`` units, ``z = W₂ · relu(W₁ · vec(x) + b₁) + b₂``.

Both read ``in_channels · H · W`` inputs whose size they learn at the first forward
(``nn.LazyLinear``); ``ban.models.build_model`` runs that forward on zeros of the data's shape when
it is given one, so a built model has every parameter (and a checkpoint's weights load either way).
"""

from __future__ import annotations

from torch import nn

from ban.models.registry import MODELS


@MODELS.register("linear")
def linear(in_channels: int, num_classes: int) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.LazyLinear(num_classes))


@MODELS.register("mlp-<width>")
def mlp(in_channels: int, num_classes: int, width: int) -> nn.Module:
    if width < 1:
        raise ValueError(f"mlp width must be positive, got {width}")
    return nn.Sequential(nn.Flatten(), nn.LazyLinear(width), nn.ReLU(inplace=True), nn.Linear(width, num_classes))
