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
