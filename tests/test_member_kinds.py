"""Member kinds: names, columns, order, seeds — one definition (ban/member_kinds.py)."""

from __future__ import annotations

import re

import pytest

from ban.member_kinds import (
    CONTROLS,
    INDEPENDENT_SEED_OFFSET,
    MEMBER_PATTERN,
    TRAINED_PATTERN,
    MemberError,
    column_label,
    column_sort_key,
    kind_of,
    kind_of_column,
)


def test_every_trained_kind_has_its_own_seed_offset():
    offsets = [kind_of(name).seed_offset for name in ("gen0", "gen1", "gen2", "gen3", *CONTROLS, "ind1", "ind2", "ind3")]  # tune<i>: gen0's
    assert len(offsets) == len(set(offsets))
    assert all(not 0 <= c.seed_offset - INDEPENDENT_SEED_OFFSET < 100 for c in CONTROLS.values())  # controls clear of ind<i>


def test_names_and_columns_round_trip_in_table_order():
    members = ["ens3", "tune2", "indep2", "dkpp_fixed", "gen0", "ind1", "ban_l", "gen2", "tune10", "ens2", "cwtm", "gen1",
               "indep3", "dkpp", "tune1"]
    columns = sorted((column_label(m) for m in members), key=column_sort_key)
    assert columns == ["Teacher", "BAN-1", "BAN-2", "BAN+L", "CWTM", "DKPP", "DKPP-fixed", "Ind-1", "Tune-1", "Tune-2", "Tune-10",
                       "Ens*2", "Indep*2", "Ens*3", "Indep*3"]
    assert all(kind_of_column(column_label(m)).member == m for m in members)


def test_teachers_seeds_and_objectives():
    assert [kind_of(m).teacher for m in ("gen0", "gen2", "cwtm", "ind1")] == [None, "gen1", "gen0", None]
    assert kind_of("ind2").objective() == "ce" and kind_of("dkpp_fixed").objective() == "dkpp"
    assert dict(kind_of("dkpp_fixed").control.objective_args) == {"permutation": "per_example"}
    assert not kind_of("indep2").trained and kind_of("indep2").family == "indep"


@pytest.mark.parametrize("name", ["gen", "ens1x", "indep0", "kd", "ind0", ""])
def test_unknown_names_are_one_line(name):
    with pytest.raises(MemberError, match="unknown member"):
        kind_of(name)


def test_tuning_points_are_label_trained_with_the_teachers_seed():
    kind = kind_of("tune3")
    assert (kind.role, kind.k, kind.label, kind.teacher, kind.objective(), kind.trained) == ("tuning", 3, "Tune-3", None, "ce", True)
    assert kind.seed_offset == kind_of("gen0").seed_offset == 0  # common random numbers with the teacher
    assert kind_of_column("Tune-3") == kind
    assert all(re.fullmatch(pattern, "tune12") for pattern in (MEMBER_PATTERN, TRAINED_PATTERN))
    assert not any(re.fullmatch(pattern, name) for pattern in (MEMBER_PATTERN, TRAINED_PATTERN) for name in ("tune0", "tune", "tunex"))
    for name in ("tune0", "tune", "Tune-0"):
        with pytest.raises(MemberError):
            kind_of_column(name) if name.startswith("T") else kind_of(name)
