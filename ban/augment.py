"""Batched data augmentation as tensor ops on the batch's device."""

from __future__ import annotations

from typing import Optional

import torch


class AugmentError(ValueError):
    """Bad input to an augmentation; the message is one line naming the problem."""


def reflect_index(position: torch.Tensor, length: int) -> torch.Tensor:
    """Map positions in ``[-p, length - 1 + p]`` (``p < length``) onto ``[0, length)`` by mirror reflection.

    ``-k -> k`` and ``length - 1 + k -> length - 1 - k``: the edge pixel is not repeated, as in
    ``torch.nn.functional.pad(..., mode="reflect")``.
    """
    last = length - 1
    return torch.where(position < 0, -position, torch.where(position > last, 2 * last - position, position))


def random_crop_flip(
    x: torch.Tensor,
    padding: int = 4,
    flip: bool = True,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """Random ``H x W`` crop of the reflect-padded image plus horizontal flip with p = 0.5, per sample.

    For each sample ``b`` with offsets ``(dy, dx)`` drawn uniformly from ``{0, ..., 2 * padding}``:
    ``out[b] = pad(x[b], padding, "reflect")[:, dy:dy + H, dx:dx + W]``, mirrored along W when its
    flip coin comes up. Done as one ``gather`` over reflected indices (no padded copy, no loop over
    samples). Random numbers come from ``generator`` (which must live on ``x.device``) or the
    default generator. Returns a new contiguous tensor with the shape, dtype and device of ``x``.
    """
    if x.dim() != 4:
        raise AugmentError(f"random_crop_flip expects a [B, C, H, W] batch, got shape {tuple(x.shape)}")
    batch, channels, height, width = x.shape
    if not 0 <= padding < min(height, width):
        raise AugmentError(f"padding must be in [0, {min(height, width)}) for {height}x{width} images, got {padding}")
    if batch == 0 or (padding == 0 and not flip):
        return x.clone()

    device = x.device
    offset_y = torch.randint(0, 2 * padding + 1, (batch, 1), generator=generator, device=device)
    offset_x = torch.randint(0, 2 * padding + 1, (batch, 1), generator=generator, device=device)
    cols = torch.arange(width, device=device).expand(batch, width)
    if flip:
        flipped = torch.randint(0, 2, (batch, 1), generator=generator, device=device).bool()
        cols = torch.where(flipped, width - 1 - cols, cols)
    rows = reflect_index(offset_y + torch.arange(height, device=device) - padding, height)  # [B, H]
    cols = reflect_index(offset_x + cols - padding, width)  # [B, W]
    flat_index = (rows.unsqueeze(2) * width + cols.unsqueeze(1)).view(batch, 1, height * width)
    source = x.reshape(batch, channels, height * width)
    out = torch.gather(source, 2, flat_index.expand(batch, channels, height * width))
    return out.view(batch, channels, height, width)
