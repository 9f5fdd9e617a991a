"""Label noise for image datasets (numpy; no torch import).

``noisy_labels(labels, num_classes, rate, kind, seed)``: each label is corrupted independently
with probability ``rate``:

- ``symmetric``: replaced by a class drawn uniformly from the ``C − 1`` *other* classes
  (``(y + u) mod C`` with ``u`` uniform on ``1..C−1``), so a corrupted label is never the true one;
- ``pairwise``: replaced by class ``(y + 1) mod C``.

The draws come from ``numpy.random.default_rng(SeedSequence([seed, NOISE_STREAM]))``: first one
uniform per label (corrupt when ``< rate``), then one class offset per label (symmetric), so the
same seed always corrupts the same labels the same way. ``load_dataset`` applies it to the
training labels, then to the validation labels (with the stream continued), never to the test
labels, and keeps the clean training labels beside the noisy ones.
"""

from __future__ import annotations

import numpy as np

KINDS = ("symmetric", "pairwise")
NOISE_STREAM = 0x401CE
"""The entropy word that sets the noise draw's stream apart from every other use of a seed."""


class LabelNoiseError(ValueError):
    """A label_noise setting that is not allowed; the message names the key."""


def check_label_noise(label_noise: dict) -> tuple[float, str, int]:
    """``(rate, kind, seed)`` of a ``label_noise`` mapping; ``LabelNoiseError`` naming the bad key."""
    if not isinstance(label_noise, dict):
        raise LabelNoiseError(f"label_noise must be a mapping {{rate, kind, seed}}, got {label_noise!r}")
    unknown = sorted(set(label_noise) - {"rate", "kind", "seed"})
    if unknown:
        raise LabelNoiseError(f"label_noise: unknown key(s) {unknown}; allowed: rate, kind, seed")
    rate, kind, seed = label_noise.get("rate"), label_noise.get("kind", "symmetric"), label_noise.get("seed")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
        raise LabelNoiseError(f"label_noise.rate must be a number in [0, 1), got {rate!r}")
    if kind not in KINDS:
        raise LabelNoiseError(f"label_noise.kind must be one of {', '.join(KINDS)}; got {kind!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise LabelNoiseError(f"label_noise.seed must be a non-negative integer (the study seed), got {seed!r}")
    return float(rate), kind, seed


def noisy_labels(label_sets: list[np.ndarray], num_classes: int, rate: float, kind: str, seed: int) -> list[np.ndarray]:
    """Each array of ``label_sets`` with labels corrupted as the module docstring says, in order,
    from one stream seeded by ``seed``."""
    if num_classes < 2:
        raise LabelNoiseError(f"label_noise needs at least 2 classes, the dataset has {num_classes}")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), NOISE_STREAM]))
    out = []
    for labels in label_sets:
        labels = np.asarray(labels, dtype=np.int64)
        corrupt = rng.random(len(labels)) < rate
        offset = rng.integers(1, num_classes, len(labels)) if kind == "symmetric" else np.ones(len(labels), dtype=np.int64)
        out.append(np.where(corrupt, (labels + offset) % num_classes, labels))
    return out
