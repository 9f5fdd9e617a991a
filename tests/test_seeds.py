"""Random streams (ban.seeds): one per member and role, from numpy's SeedSequence."""

import numpy as np
import pytest
import torch

from ban.member_kinds import CONTROLS, SEED_STRIDE, kind_of
from ban.seeds import STREAMS, stream_seed


def test_a_stream_seed_is_the_seed_sequence_of_train_seed_and_role():
    expected = int(np.random.SeedSequence([2003, STREAMS.index("augment")]).generate_state(1, np.uint64)[0])
    assert stream_seed(2003, "augment") == expected
    torch.Generator().manual_seed(stream_seed(2003, "augment"))  # a valid torch seed (64 bits)


def test_no_two_members_or_roles_share_a_stream():
    kinds = [f"gen{k}" for k in range(6)] + list(CONTROLS) + [f"ind{i}" for i in range(1, 6)]
    seeds = [SEED_STRIDE * seed + kind_of(member).seed_offset for seed in range(10) for member in kinds]
    streams = [stream_seed(train_seed, role) for train_seed in seeds for role in STREAMS]
    assert len(set(streams)) == len(streams) == len(seeds) * len(STREAMS)
    # train_seed + 1 was the teacher's shuffle stream and generation 1's initialisation: no longer one stream
    assert stream_seed(1000, "shuffle") != stream_seed(1001, "init")


@pytest.mark.parametrize(("train_seed", "stream"), [(-1, "init"), (1.5, "init"), (True, "init"), (3, "dropout")])
def test_bad_seeds_and_streams_are_refused(train_seed, stream):
    with pytest.raises(ValueError):
        stream_seed(train_seed, stream)


def test_the_image_loop_seeds_its_generators_from_the_streams(tiny_spec):
    from ban.datasets import load_dataset
    from ban.models import build_model
    from ban.objectives import get_objective
    from ban.tasks.image import Loop, Recipe

    data = load_dataset(**tiny_spec["dataset"])
    model = build_model("cnn", 1, 4, width=4, hidden=16)
    loop = Loop(model, None, get_objective("dkpp"), {}, Recipe.from_dict({"epochs": 1}), data, torch.device("cpu"), 4002)
    for name, generator in loop.generators.items():
        assert generator.initial_seed() == stream_seed(4002, name)
    keys = torch.rand(len(data.train_y), data.num_classes, generator=torch.Generator().manual_seed(stream_seed(4002, "example_keys")))
    assert torch.equal(loop.example_keys, keys)
