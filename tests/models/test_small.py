"""The small CNN of the CPU study."""

from __future__ import annotations

import pytest
import torch

from ban.models import build_model


@pytest.mark.parametrize("in_channels,size,num_classes", [(1, 28, 7), (3, 32, 10)])
def test_cnn_output_shape(in_channels, size, num_classes):
    model = build_model("cnn", in_channels, num_classes)
    logits = model(torch.randn(2, in_channels, size, size))
    assert logits.shape == (2, num_classes)
