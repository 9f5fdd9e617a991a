"""Hand-made metrics.json files shared by the report tests; expected numbers are computed by hand in the tests."""

from __future__ import annotations

import json
import math
from pathlib import Path

# test error (%) per (lineage, seed) and member; nll = error / 10, ece = error / 4.
IMAGE_ERRORS = {
    ("wrn", 1): {"ens2": 3.5, "dkpp": 5.2, "gen2": 4.5, "gen0": 5.0, "cwtm": 4.6, "gen1": 4.0, "ban_l": 4.8},
    ("wrn", 2): {"gen1": 5.5, "gen0": 6.0, "ban_l": 5.6, "gen2": 5.0, "ens2": 4.5, "cwtm": 5.4, "dkpp": 6.4},
    ("cnn", 1): {"dkpp": 11.0, "gen1": 9.0, "gen0": 10.0},
    ("cnn", 2): {"gen0": 12.0, "gen1": 10.0},
}
# (test_ppl, val_ppl) per (lineage, seed) and member.
TEXT_PPL = {
    ("lstm", 1): {"gen0": (80.0, 84.0), "gen1": (76.0, 79.0)},
    ("lstm", 2): {"gen0": (82.0, 86.0), "gen1": (77.0, 81.0)},
}
COLUMNS = ["Teacher", "BAN-1", "BAN-2", "BAN+L", "CWTM", "DKPP", "Ens*2"]
IMAGE_STEMS = ("table", "table_nll", "table_ece")


def write_metrics(root: Path, record: dict) -> Path:
    path = root / record["study"] / record["lineage"] / f"seed{record['seed']}" / record["member"] / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def image_record(lineage: str, seed: int, member: str, error: float, study: str = "cifar") -> dict:
    record = {"study": study, "lineage": lineage, "seed": seed, "member": member, "task": "image",
              "model": "cnn", "objective": "ce", "dataset": "cifar10", "epochs": 2, "wall_seconds": 1.0,
              "test_error": error, "test_nll": error / 10, "test_ece": error / 4}
    if member.startswith("ens"):
        record["members"] = [f"gen{k}" for k in range(1, int(member[3:]) + 1)]
    else:
        record["num_params"] = 10
        record["history"] = [{"epoch": 1, "train_loss": 1.0, "train_acc": 50.0, "test_error": error + 5,
                              "lr": 0.1, "seconds": 0.5},
                             {"epoch": 2, "train_loss": 0.5, "train_acc": 80.0, "test_error": error,
                              "lr": 0.01, "seconds": 0.5}]
    return record


def image_study(root: Path) -> list[Path]:
    return [write_metrics(root, image_record(lineage, seed, member, error))
            for (lineage, seed), members in IMAGE_ERRORS.items() for member, error in members.items()]


def text_study(root: Path) -> list[Path]:
    paths = []
    for (lineage, seed), members in TEXT_PPL.items():
        for member, (test_ppl, val_ppl) in members.items():
            record = {"study": "ptb", "lineage": lineage, "seed": seed, "member": member, "task": "text",
                      "model": "lstm", "objective": "ce", "dataset": "ptb", "epochs": 2, "wall_seconds": 1.0,
                      "test_ppl": test_ppl, "val_ppl": val_ppl, "test_nll": math.log(test_ppl),
                      "history": [{"epoch": 1, "train_loss": 5.0, "val_ppl": val_ppl * 2, "lr": 20, "seconds": 1},
                                  {"epoch": 2, "train_loss": 4.0, "val_ppl": val_ppl, "lr": 20, "seconds": 1}]}
            paths.append(write_metrics(root, record))
    return paths


def write_curve_metrics(root: Path, lineage: str, seed: int, member: str, score: float, task: str = "image",
                        epochs: int = 3) -> Path:
    """A metrics.json of study "demo" whose history's curve score is ``score * (1 + (epochs - e) / epochs)``."""
    record = {"study": "demo", "lineage": lineage, "seed": seed, "member": member, "task": task,
              "model": "cnn", "objective": "ce", "dataset": "d", "epochs": epochs, "wall_seconds": 1.0}
    curve_key = "test_error" if task == "image" else "val_ppl"
    if task == "image":
        record.update(test_error=score, test_nll=score / 10, test_ece=score / 4)
    else:
        record.update(test_ppl=score, val_ppl=score + 3, test_nll=math.log(score))
    if member.startswith("ens"):
        record["members"] = [f"gen{k}" for k in range(1, int(member[3:]) + 1)]
    else:
        record["history"] = [{"epoch": e, "train_loss": 1.0 / e, "lr": 0.1, "seconds": 0.1,
                              curve_key: score * (1 + (epochs - e) / epochs)} for e in range(1, epochs + 1)]
    path = root / lineage / f"seed{seed}" / member / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))
    return path


def table_lines(path: Path) -> list[list[str]]:
    """Cells of the Markdown table lines of ``path``."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def edit_metrics(path: Path, edit) -> None:
    """Rewrite the metrics.json at ``path`` after ``edit(record)``."""
    record = json.loads(path.read_text())
    edit(record)
    path.write_text(json.dumps(record))


# The claims' studies (ban.report.claims, ban.report.claims_markdown); test error per seed.
# Lineage a, seeds 0-2 (nll = error / 10, ece = error / 4):
#   BAN-1 − Teacher = (-0.5, -0.4, -0.5): -0.466667 ± 4.302653/30 = [-0.610088, -0.323245] -> holds
#   BAN-2 − BAN-1  = (+1.0, +1.1, +1.0): +1.033333, same spread  = [+0.889912, +1.176755] -> reversed
#   BAN+L − Teacher = (0, +0.5, -0.5): 0 ± 1.242069, 1 win, 1 tie -> not shown
#   DKPP (seed 0 only) − Teacher = +1.0: one seed -> not shown, no interval
#   Ens*2 (of gen1, gen2) − BAN-1 = (-1, -1, -1): zero-width [-1, -1] -> holds; Ens*2 − BAN-2 = (-2, -2.1, -2)
#   Ens*2 − Indep*2 = (+0.5, +0.5, +0.5) -> reversed (zero-width above 0)
# Lineage b, seeds 0-1: Teacher and BAN-1 only, BAN-1 − Teacher = (-0.5, -0.5) -> zero-width [-0.5, -0.5], holds.
PAIRED_A = {
    "gen0": (10.0, 12.0, 11.0),
    "gen1": (9.5, 11.6, 10.5),
    "gen2": (10.5, 12.7, 11.5),
    "ban_l": (10.0, 12.5, 10.5),
    "ens2": (8.5, 10.6, 9.5),
    "ind1": (10.2, 12.2, 11.2),
    "indep2": (8.0, 10.1, 9.0),
}
PAIRED_B = {"gen0": (8.0, 9.0), "gen1": (7.5, 8.5)}
# Seeds 0-4 of lineage c: the best BAN is chosen on 0, 1 (BAN-1 9.1 < BAN-2 9.5) and tested on 2-4, where BAN-2
# would win: BAN-1 − Teacher = (+0.5, +0.4, +0.6): +0.5 ± 4.302653 · 0.1 / √3 = [+0.251586, +0.748414] -> reversed.
BEST_BAN = {"gen0": (10.0,) * 5, "gen1": (9.0, 9.2, 10.5, 10.4, 10.6), "gen2": (9.5, 9.5, 8.0, 8.2, 8.1)}
# One lineage, seeds 0-2: BAN-1 − Teacher = (-0.5, -0.3, -0.4), mean -0.4, sd 0.1, t = 0.4 · √3 / 0.1 = 6.928203,
# p = 1 − t / sqrt(t² + 2) = 0.020204: holds per comparison; its family is BAN-1 − Teacher on error, ECE and NLL
# (3 seeds: no best-BAN row): 3 equal p -> p_holm = 3 p = 0.060612, not shown after Holm.
SMALL = {"gen0": (10.0, 12.0, 11.0), "gen1": (9.5, 11.7, 10.6)}


def claims_record(lineage: str, seed: int, member: str, error: float, study: str = "paired") -> dict:
    """An image record whose Indep*2 averages the Teacher and Ind-1."""
    entry = image_record(lineage, seed, member, error, study=study)
    if member == "indep2":
        entry["members"] = ["gen0", "ind1"]
    return entry


def errors_study(root: Path, lineage: str, errors: dict[str, tuple[float, ...]], study: str) -> list[Path]:
    """One lineage whose ``errors[member][seed]`` are the test errors of seeds 0.. ."""
    return [write_metrics(root, claims_record(lineage, seed, member, values[seed], study))
            for seed in range(len(next(iter(errors.values())))) for member, values in errors.items()]


def paired_study(root: Path, study: str = "paired") -> list[Path]:
    """Lineages a (``PAIRED_A`` and DKPP in seed 0) and b (``PAIRED_B``)."""
    paths = errors_study(root, "a", PAIRED_A, study)
    paths.append(write_metrics(root, claims_record("a", 0, "dkpp", 11.0, study)))
    return paths + errors_study(root, "b", PAIRED_B, study)


# A study with a tuning grid and validation scores, where validation and test disagree: (test_error, val_error) per seed 0-2.
# Lineage t (tuning grid tune1: label smoothing 0.1, tune2: select best_val):
#   val means: Teacher 11.5, Tune-1 10.0, Tune-2 10.5 -> Tuned = Tune-1 (on test Tune-2 would win: 10.0 < 10.766667)
#   val means: BAN-1 10.833333, BAN-2 10.533333 -> best BAN = BAN-2 (on test BAN-1 would win: 10.4 < 10.766667)
#   BAN-1 − Tuned = (-0.3, -0.5, -0.3): -0.366667, sd 0.115470, ± 4.302653 · 0.115470 / √3 = 0.286844 -> holds
#   best BAN − Teacher = (-0.4, -0.2, -0.1): -0.233333, sd 0.152753, ± 0.379457 -> not shown
#   best BAN − Tuned = (-0.2, -0.1, +0.3): 0, sd 0.264575, ± 4.302653 · 0.264575 / √3 = 0.657241 -> not shown
# Lineage u: Teacher and BAN-1 only (no tuning grid).
TUNED = {
    "gen0": ((10.0, 10.5), (11.0, 11.5), (12.0, 12.5)),
    "tune1": ((9.8, 9.0), (10.9, 10.0), (11.6, 11.0)),
    "tune2": ((9.0, 9.5), (10.0, 10.5), (11.0, 11.5)),
    "gen1": ((9.5, 10.0), (10.4, 11.0), (11.3, 11.5)),
    "gen2": ((9.6, 9.8), (10.8, 10.6), (11.9, 11.2)),
}
TUNED_U = {"gen0": ((8.0, 8.5), (9.0, 9.5), (10.0, 10.5)), "gen1": ((7.0, 7.5), (8.5, 9.0), (9.5, 10.0))}
TUNING_POINTS = {"tune1": {"objective_args.label_smoothing": 0.1}, "tune2": {"recipe.select": "best_val"}}


def tuned_record(lineage: str, seed: int, member: str, test_error: float, val_error: float, study: str = "tuned") -> dict:
    """An image record with ``val_error``, ``train_error``, ``collapsed: false``, an identity and (tune<i>) its tuning point."""
    record = image_record(lineage, seed, member, test_error, study=study)
    record.update(val_error=val_error, train_error=test_error / 2, collapsed=False, collapse_reasons=[],
                  identity=f"id-{lineage}-{seed}-{member}")
    if member in TUNING_POINTS:
        record["tuning_point"] = TUNING_POINTS[member]
    return record


def tuned_study(root: Path, study: str = "tuned") -> list[Path]:
    """Lineages t (``TUNED``) and u (``TUNED_U``), seeds 0-2."""
    return [write_metrics(root, tuned_record(lineage, seed, member, *values[seed], study=study))
            for lineage, errors in (("t", TUNED), ("u", TUNED_U)) for seed in range(3) for member, values in errors.items()]
