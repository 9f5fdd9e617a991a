"""Member kinds: every kind of member a lineage can hold, each defined once (no torch import).

A lineage of seed ``s`` holds:

- the **teacher** ``gen0``: trained on labels (objective ``ce``), training seed ``1000·s``;
- **BAN generations** ``gen<k>`` (k ≥ 1): generation k learns from ``gen<k−1>`` with the lineage's
  objective (``ban`` or ``ban_l``), training seed ``1000·s + k``;
- **controls** (one entry each in ``CONTROLS``): students of ``gen0`` with their own objective and
  training seed ``1000·s + seed_offset``;
- **independent networks** ``ind<i>`` (the lineage's ``independent: N``, i = 1..N): trained on
  labels like the teacher (same architecture and recipe), training seed ``1000·s + 200 + i``;
- **tuning points** ``tune<i>`` (the lineage's ``tuning`` grid, i = 1..N in grid order): trained
  on labels like the teacher with one point of a small regularisation grid, with the teacher's
  training seed ``1000·s`` (common random numbers: a point equal to the teacher's own setting is
  the teacher's training); the report chooses among them on the validation split;
- **ensembles**, the average of saved test probabilities, never trained: ``ens<k>`` (Ens*k, of
  BAN generations) and ``indep<k>`` (Indep*k: the teacher and ``ind1..ind<k−1>``, the control
  that tells born-again ensembling from plain seed ensembling).

Everything that reads member names — study expansion, the schema's enums (checked by a test), the
workflow's wildcard constraints, table columns and their order, plot styles — reads this module.
Adding a control is one ``Control(...)`` line here plus its objective in ``ban/objectives.py``
and its name in the schema's ``control_name`` enum.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class MemberError(ValueError):
    """A member or column name that no member kind matches; the message lists the kinds."""


@dataclass(frozen=True)
class Control:
    """A control: a student of ``gen0`` trained with ``objective`` (a name in ``ban.objectives``)
    and ``objective_args``.

    ``label`` is its table column; ``colour`` and ``linestyle`` its matplotlib style in plots."""

    name: str
    label: str
    objective: str
    seed_offset: int
    colour: str
    linestyle: str
    objective_args: tuple[tuple[str, object], ...] = ()


CONTROLS: dict[str, Control] = {
    control.name: control
    for control in (
        Control("ban_l", "BAN+L", "ban_l", 101, "#d62728", "--"),
        Control("cwtm", "CWTM", "cwtm", 102, "#9467bd", "-."),
        Control("dkpp", "DKPP", "dkpp", 103, "#8c564b", ":"),
        Control("dkpp_fixed", "DKPP-fixed", "dkpp", 104, "#e377c2", "-", (("permutation", "per_example"),)),
    )
}
"""The controls in table order: BAN+L (teacher + label loss), CWTM (label loss weighted by the
teacher's max probability), DKPP (teacher outputs with the non-argmax probabilities permuted
afresh at every step) and DKPP-fixed (one permutation per training example for the whole run)."""

TEACHER = "Teacher"
TEACHER_OBJECTIVE = "ce"
GENERATION_OBJECTIVES = ("ban", "ban_l")
"""Objectives a lineage's BAN generations may use (the schema's ``lineage.objective`` enum)."""

SEED_STRIDE = 1000
"""Training seed of a member: ``SEED_STRIDE · seed + offset``."""
INDEPENDENT_SEED_OFFSET = 200
"""``ind<i>`` trains with offset ``INDEPENDENT_SEED_OFFSET + i`` (distinct from every other member's)."""
TUNING_SEED_OFFSET = 0
"""``tune<i>`` trains with the teacher's offset: the grid's points differ only in their setting."""
ENSEMBLE_FAMILIES = {"ens": "Ens", "indep": "Indep"}
"""Ensemble member prefix → column prefix: ``ens<k>`` → ``Ens*k``, ``indep<k>`` → ``Indep*k``."""


@dataclass(frozen=True)
class Kind:
    """One kind of member: ``role`` (teacher, generation, control, independent, tuning, ensemble),
    ``k`` (generation index, independent or tuning index, or ensemble size; ``None`` for controls), for controls
    the ``Control`` entry, for ensembles the ``family`` (``ens`` or ``indep``)."""

    member: str
    role: str
    k: int | None = None
    control: Control | None = None
    family: str | None = None

    @property
    def label(self) -> str:
        """Table column: Teacher, BAN-k, the control's label, Ens*k."""
        if self.role == "teacher":
            return TEACHER
        if self.role == "generation":
            return f"BAN-{self.k}"
        if self.role == "control":
            return self.control.label
        if self.role == "independent":
            return f"Ind-{self.k}"
        if self.role == "tuning":
            return f"Tune-{self.k}"
        return f"{ENSEMBLE_FAMILIES[self.family]}*{self.k}"

    @property
    def rank(self) -> tuple[int, int]:
        """Column sort key: Teacher, BAN-1..K, the controls in ``CONTROLS`` order, Ind-1..N,
        Tune-1..N, then Ens*2, Indep*2, Ens*3, Indep*3, … (each Indep*k beside its Ens*k)."""
        if self.role == "teacher":
            return (0, 0)
        if self.role == "generation":
            return (1, self.k)
        if self.role == "control":
            return (2 + list(CONTROLS).index(self.member), 0)
        if self.role == "independent":
            return (2 + len(CONTROLS), self.k)
        if self.role == "tuning":
            return (3 + len(CONTROLS), self.k)
        return (4 + len(CONTROLS), 2 * self.k + list(ENSEMBLE_FAMILIES).index(self.family))

    @property
    def trained(self) -> bool:
        return self.role != "ensemble"

    @property
    def teacher(self) -> str | None:
        """The member whose ``model.pt`` teaches this one: ``gen<k−1>`` for a generation,
        ``gen0`` for a control, ``None`` for the teacher and ensembles."""
        if self.role == "generation":
            return f"gen{self.k - 1}"
        if self.role == "control":
            return "gen0"
        return None

    @property
    def seed_offset(self) -> int:
        """``train_seed − SEED_STRIDE · seed``; ensembles are not trained."""
        if self.role in ("teacher", "generation"):
            return self.k
        if self.role == "control":
            return self.control.seed_offset
        if self.role == "independent":
            return INDEPENDENT_SEED_OFFSET + self.k
        if self.role == "tuning":
            return TUNING_SEED_OFFSET
        raise MemberError(f"{self.member!r} is an ensemble: it is not trained")

    def objective(self, lineage_objective: str = "ban") -> str:
        """Objective name: ``ce`` for the teacher, independent networks and tuning points, the
        lineage's for generations, the control's own."""
        if self.role in ("teacher", "independent", "tuning"):
            return TEACHER_OBJECTIVE
        if self.role == "generation":
            return lineage_objective
        if self.role == "control":
            return self.control.objective
        raise MemberError(f"{self.member!r} is an ensemble: it has no objective")


_CONTROL_ALTERNATIVES = "|".join(re.escape(name) for name in CONTROLS)
ENSEMBLE_PATTERN = rf"(?:{'|'.join(ENSEMBLE_FAMILIES)})[1-9]\d*"
"""Regular expression of ensemble names (the workflow's ``ensemble`` wildcard)."""
MEMBER_PATTERN = rf"gen\d+|{_CONTROL_ALTERNATIVES}|ind[1-9]\d*|tune[1-9]\d*|{ENSEMBLE_PATTERN}"
"""Regular expression of every member name."""
TRAINED_PATTERN = rf"gen\d+|{_CONTROL_ALTERNATIVES}|ind[1-9]\d*|tune[1-9]\d*"
"""Regular expression of trained member names (``overrides`` keys)."""
CONTROL_PATTERN = _CONTROL_ALTERNATIVES
"""Regular expression of control names (the workflow's ``control`` wildcard)."""

_MEMBER_RE = re.compile(
    rf"^(?:gen(?P<gen>\d+)|(?P<control>{_CONTROL_ALTERNATIVES})|ind(?P<ind>[1-9]\d*)|tune(?P<tune>[1-9]\d*)|(?P<family>{'|'.join(ENSEMBLE_FAMILIES)})(?P<ens>[1-9]\d*))$"
)
_LABELS = {control.label: name for name, control in CONTROLS.items()}
_FAMILIES = {label: family for family, label in ENSEMBLE_FAMILIES.items()}
_COLUMN_RE = re.compile(
    rf"^(?:{TEACHER}|BAN-(?P<gen>[1-9]\d*)|(?P<control>{'|'.join(re.escape(label) for label in _LABELS)})|Ind-(?P<ind>[1-9]\d*)"
    rf"|Tune-(?P<tune>[1-9]\d*)"
    rf"|(?P<family>{'|'.join(_FAMILIES)})\*(?P<ens>[1-9]\d*))$"
)
_KINDS_TEXT = f"gen<k>, {', '.join(CONTROLS)}, ind<i>, tune<i>, ens<k> or indep<k>"


def kind_of(member: str) -> Kind:
    """The kind of member ``member`` (``gen3``, ``cwtm``, ``ens2``); else ``MemberError``."""
    match = _MEMBER_RE.match(member) if isinstance(member, str) else None
    if match is None:
        raise MemberError(f"unknown member {member!r} (expected {_KINDS_TEXT})")
    if match["gen"] is not None:
        k = int(match["gen"])
        return Kind(member, "teacher" if k == 0 else "generation", k)
    if match["control"] is not None:
        return Kind(member, "control", None, CONTROLS[match["control"]])
    if match["ind"] is not None:
        return Kind(member, "independent", int(match["ind"]))
    if match["tune"] is not None:
        return Kind(member, "tuning", int(match["tune"]))
    return Kind(member, "ensemble", int(match["ens"]), family=match["family"])


def kind_of_column(column: str) -> Kind:
    """The kind whose table column is ``column`` (``Teacher``, ``BAN-2``, ``CWTM``, ``Ens*3``)."""
    match = _COLUMN_RE.match(column) if isinstance(column, str) else None
    if match is None:
        raise MemberError(f"unknown table column {column!r}")
    if column == TEACHER:
        return kind_of("gen0")
    if match["gen"] is not None:
        return kind_of(f"gen{match['gen']}")
    if match["control"] is not None:
        return kind_of(_LABELS[match["control"]])
    if match["ind"] is not None:
        return kind_of(f"ind{match['ind']}")
    if match["tune"] is not None:
        return kind_of(f"tune{match['tune']}")
    return kind_of(f"{_FAMILIES[match['family']]}{match['ens']}")


def is_member(name: str) -> bool:
    return isinstance(name, str) and _MEMBER_RE.match(name) is not None


def is_column(name: str) -> bool:
    return isinstance(name, str) and _COLUMN_RE.match(name) is not None


def column_label(member: str) -> str:
    """Table column of a member name: gen0→Teacher, genk→BAN-k, ban_l→BAN+L, ensk→Ens*k, ..."""
    return kind_of(member).label


def column_sort_key(column: str) -> tuple[int, int]:
    """Sort key of a table column (see ``Kind.rank``)."""
    return kind_of_column(column).rank


def generation_of(column: str) -> int | None:
    """Generation index of Teacher (0) and BAN-k (k); None for controls and ensembles."""
    kind = kind_of_column(column) if is_column(column) else None
    return kind.k if kind is not None and kind.role in ("teacher", "generation") else None


def ensemble_size(column: str, family: str = "ens") -> int | None:
    """k of an Ens*k column (``family="indep"``: of an Indep*k column); None for any other column."""
    kind = kind_of_column(column) if is_column(column) else None
    return kind.k if kind is not None and kind.role == "ensemble" and kind.family == family else None


def control_style(column: str) -> tuple[str, str] | None:
    """``(colour, linestyle)`` of a control's column; None for other columns."""
    kind = kind_of_column(column) if is_column(column) else None
    return (kind.control.colour, kind.control.linestyle) if kind is not None and kind.role == "control" else None
