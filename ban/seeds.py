"""A member's random streams, each seeded on its own (numpy; no torch import).

Every trained member has a ``train_seed`` (``ban.member_kinds``: ``SEED_STRIDE · seed + offset``, one
offset per member kind, so one number per study seed and kind). Its streams are

    init          the global torch generator: initialisation (and dropout, where a model has it)
    shuffle       batch order
    augment       crops and flips
    objective     the objective's own draws (DKPP's permutations)
    example_keys  the per-example table of uniform numbers (DKPP-fixed)

and stream ``r`` is seeded ``SeedSequence([train_seed, index of r]).generate_state(1, uint64)``:
numpy hashes the whole entropy tuple, so no two members and no two streams of a member share a
stream (adjacent training seeds no longer hand one member's shuffle order to the next one's
initialisation, as ``train_seed + 1..4`` did).

The same kind in the same seed has the same ``train_seed`` in every lineage of a study, so
lineages share their streams on purpose (common random numbers: two lineages that differ in
architecture or objective see the same batch orders and augmentations); the claims' pooled rows
therefore average lineages within each seed (``ban.report.verdicts.pool``).
"""

from __future__ import annotations

import numpy as np

STREAMS = ("init", "shuffle", "augment", "objective", "example_keys")


def stream_seed(train_seed: int, stream: str) -> int:
    """The 64-bit seed of ``stream`` (one of ``STREAMS``) of the member trained with ``train_seed`` ≥ 0."""
    if stream not in STREAMS:
        raise ValueError(f"stream must be one of {', '.join(STREAMS)}; got {stream!r}")
    if isinstance(train_seed, bool) or not isinstance(train_seed, int) or train_seed < 0:
        raise ValueError(f"train_seed must be a non-negative integer, got {train_seed!r}")
    return int(np.random.SeedSequence([train_seed, STREAMS.index(stream)]).generate_state(1, np.uint64)[0])
