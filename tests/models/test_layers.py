"""The convolutional families' layout and seeded initialisation against fingerprints of known values.

A checkpoint loads only into a model with the same ``state_dict`` keys, shapes and dtypes, and a
seeded study is reproducible only while a model built after ``torch.manual_seed(s)`` draws its
random numbers in the same order. ``FINGERPRINTS`` holds, per model, the sha256 of its layout and
two checksums of its weights and eval-mode logits on a seeded input, from the code as it was
before ``ban.models.layers`` replaced each family's own block and initialisation loop.

The layout is compared exactly. Values are compared with a tolerance of 1e-5 of their norm:
``normal_`` (He initialisation) and the convolutions round differently per CPU kernel
(``ATEN_CPU_CAPABILITY`` default vs. avx2 differ in the last bits), while any change of which
module draws which random numbers changes the checksums by about their whole norm.
"""

from __future__ import annotations

import hashlib
import math

import pytest
import torch

from ban.models import build_model

SEED = 0
INPUT = (3, 16, 16)
NUM_CLASSES = 3

# name, kwargs → (layout sha256, weights checksum, weights norm, logits checksum, logits norm)
FINGERPRINTS = {
    ('wrn-10-2', "{'dropout': 0.3}"): (
        'f06648400a856ef2e01dcb61730b297ce5e9bab6289b6fb9e53d1d59aae36b05',
        26.403687176675, 42.77867011724615, 0.0904840643994896, 0.3495282261655646,
    ),
    ('wrn-16-1', '{}'): (
        'c3c1736633f110c42dcb8d26b29ce7935df8a93bf571994df679d5cc06a94915',
        9.966867089456448, 42.75254188664756, -0.6147226687044925, 0.9506892884891316,
    ),
    ('preact-resnet-8', '{}'): (
        'cd4acda0fde33eb66983eefd13c18a62bddec27007ba97aaea6dcb3f80c092ce',
        -3.8801729507748757, 30.584902952396366, -0.05523039355752495, 0.1607285695072043,
    ),
    ('preact-resnet-8', "{'units': 2, 'width': 0.5, 'channels': (12, 20, 24), 'stem': 6}"): (
        '9eea4958bfbd1ab8e4bc229092d956917d69fd9d42a34216f5f559a046ff2864',
        -2.1972143486105598, 22.086952283627127, -1.2742600570163638, 3.467781732742713,
    ),
    ('preact-resnet-11', "{'bottleneck': True, 'width': 0.5}"): (
        '0496ed877a58284ae0ef2ed6c8436c1fcd53762eb208589832116a2d0560d71c',
        8.568939933660136, 37.15159294505587, -0.17831047003958558, 0.2912934283413062,
    ),
    ('resnet-8', '{}'): (
        '659ec944d98ee9e84d67884f9dd2f574d454bfa7c6bfabb3c3cb7fa5cb0623da',
        -9.59592785994831, 33.577318067521475, -0.0664985141259263, 0.1426202479002857,
    ),
    ('densenet-bc-14-4', "{'dropout': 0.2}"): (
        '6b8ca26bf3ac00558c915ae311649507ad259d08615fc648f1ff992583a125c5',
        6.650475419571704, 25.50116654383133, 0.5416644253135862, 1.1735907119246907,
    ),
}


def layout(model: torch.nn.Module) -> str:
    lines = [f"{key} {tuple(value.shape)} {value.dtype}" for key, value in model.state_dict().items()]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def checksum(tensors: list[torch.Tensor]) -> tuple[float, float]:
    """``(Σᵢ cᵢ Σⱼ wⱼ xᵢⱼ, ‖x‖)``: fixed cosine weights over elements and tensors, so a change of
    values, of order within a tensor or of which tensor holds them moves the first by about ‖x‖."""
    total, squares = 0.0, 0.0
    for index, tensor in enumerate(tensors):
        values = tensor.detach().double().flatten()
        weights = torch.cos(torch.arange(values.numel(), dtype=torch.float64) * 0.7 + index)
        total += math.cos(1.3 * index + 0.5) * float((values * weights).sum())
        squares += float((values * values).sum())
    return total, math.sqrt(squares)


def fingerprint(name: str, kwargs: dict) -> tuple[str, float, float, float, float]:
    torch.manual_seed(SEED)
    model = build_model(name, INPUT[0], NUM_CLASSES, **kwargs).eval()
    torch.manual_seed(SEED + 1)
    with torch.no_grad():
        logits = model(torch.randn(2, *INPUT))
    return (layout(model), *checksum(list(model.state_dict().values())), *checksum([logits]))


CASES = [
    ("wrn-10-2", {"dropout": 0.3}),
    ("wrn-16-1", {}),
    ("preact-resnet-8", {}),
    ("preact-resnet-8", {"units": 2, "width": 0.5, "channels": (12, 20, 24), "stem": 6}),
    ("preact-resnet-11", {"bottleneck": True, "width": 0.5}),
    ("resnet-8", {}),
    ("densenet-bc-14-4", {"dropout": 0.2}),
]


@pytest.mark.parametrize("name,kwargs", CASES)
def test_layout_and_seeded_values_match_fingerprint(name, kwargs):
    expected = FINGERPRINTS[(name, repr(kwargs))]
    got = fingerprint(name, kwargs)
    assert got[0] == expected[0], f"{name}: state_dict keys, shapes or dtypes changed"
    for what, value, norm, want, want_norm in (("weights", *got[1:3], *expected[1:3]), ("logits", *got[3:5], *expected[3:5])):
        assert norm == pytest.approx(want_norm, rel=1e-5), f"{name}: {what} norm"
        assert abs(value - want) <= 1e-5 * want_norm, f"{name}: {what} checksum {value!r} != {want!r}"


if __name__ == "__main__":  # prints FINGERPRINTS for the code on the path
    print("FINGERPRINTS = {")
    for name, kwargs in CASES:
        sha, *numbers = fingerprint(name, kwargs)
        print(f"    ({name!r}, {repr(kwargs)!r}): (\n        {sha!r},\n        {', '.join(map(repr, numbers))},\n    ),")
    print("}")
