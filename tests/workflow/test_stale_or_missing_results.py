"""No stale result passes as fresh, no missing one as done: real Snakemake runs of the tiny study,
grouped into two tests to keep the suite short.

- A changed teacher retrains every student and ensemble of its lineage, nothing else; a member
  whose changed spec fails is back when the config is reverted; reverting restores the earlier
  trainings from the store, verified by hash (a damaged or forged entry is trained again instead).
- A replaced or emptied checkpoint is named by every run, dry runs included, with a way out that
  works when followed; a deleted member folder or output file and a dangling link are rebuilt on
  the next run; deleting the store loses no result.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

from ban.checkpoint import save_model
from ban.models import build_model
from tests.workflow.conftest import planned_jobs, read_config, snakemake, write_config

STUDENTS = ("gen1", "gen2", "ban_l", "cwtm", "dkpp", "dkpp_fixed")
TRAINED = ("gen0", *STUDENTS, "ind1")
SEEDS = (0, 1)
REPORTS = {"table", "plot", "claims"}


def digests(project: Path, seeds: tuple[int, ...] = SEEDS, members: tuple[str, ...] = TRAINED) -> dict[str, str]:
    """sha256 of trained members' model.pt and predictions.npz, by 'seed<s>/<member>/<file>'."""
    results = project / "results/tiny/cnn"
    return {f"seed{s}/{m}/{name}": hashlib.sha256((results / f"seed{s}/{m}/{name}").read_bytes()).hexdigest()
            for s in seeds for m in members for name in ("model.pt", "predictions.npz")}


def log_of(project: Path, label: str) -> str:
    return (project / f"logs/tiny/cnn/{label}.log").read_text()


def entry_of(project: Path, label: str) -> Path:
    """The store entry of a finished member (its metrics.json records its store key)."""
    key = json.loads((project / f"results/tiny/cnn/{label}/metrics.json").read_text())["store_key"]
    return project / ".ban-store" / key


def test_a_changed_teacher_retrains_its_students_and_a_revert_restores_them_verified(tiny_copy):
    """Seed 0 of a smaller lineage (gen0..gen2, CWTM, ind1, Ens*2, Indep*2): the members the config
    no longer names are not touched."""
    config = read_config(tiny_copy)
    config["studies"]["tiny"]["seeds"] = [0]
    config["studies"]["tiny"]["lineages"]["cnn"]["controls"] = ["cwtm"]
    write_config(tiny_copy, config)
    assert planned_jobs(tiny_copy) == REPORTS  # fewer members in the tables; no training
    members = ("gen0", "gen1", "gen2", "cwtm", "ind1")
    before = digests(tiny_copy, seeds=(0,), members=members)
    gen2 = tiny_copy / "results/tiny/cnn/seed0/gen2"
    damaged, forged = entry_of(tiny_copy, "seed0/gen1"), entry_of(tiny_copy, "seed0/cwtm")

    # The teacher changes, and gen2's new spec diverges: every student of the new teacher is
    # trained (none restored), ind1 is untouched, gen2 fails after Snakemake removed its old outputs.
    changed = read_config(tiny_copy)
    changed["studies"]["tiny"]["lineages"]["cnn"]["overrides"] = {"gen0": {"recipe": {"epochs": 4}},
                                                                  "gen2": {"recipe": {"lr": 1e12}}}
    write_config(tiny_copy, changed)
    assert planned_jobs(tiny_copy) == {f"seed0/{m}" for m in ("gen0", "gen1", "gen2", "cwtm", "ens2", "indep2")} | REPORTS
    targets = [f"results/tiny/cnn/seed0/{m}/metrics.json" for m in (*members, "ens2", "indep2")]  # the tables: test 2
    assert snakemake(tiny_copy, *targets, check=False).returncode != 0
    assert "training diverged in epoch 1" in log_of(tiny_copy, "seed0/gen2")
    assert not (gen2 / "model.pt").exists()
    after = digests(tiny_copy, seeds=(0,), members=("gen0", "gen1", "cwtm", "ind1"))
    for key, digest in after.items():
        label = key.rsplit("/", 1)[0]
        assert (digest == before[key]) == label.endswith("ind1"), key
        if not label.endswith("ind1"):
            assert "restored" not in log_of(tiny_copy, label), label

    # Back to the old config: every training comes back from the store, verified by hash. Two
    # entries are spoiled first (a truncated checkpoint, forged uniform predictions): those train
    # again, to the same bytes (CPU training is deterministic), and so does nothing else.
    (damaged / "model.pt").write_bytes((damaged / "model.pt").read_bytes()[:5000])
    forge_predictions(forged / "predictions.npz")
    write_config(tiny_copy, config)
    snakemake(tiny_copy, *targets)
    assert digests(tiny_copy, seeds=(0,), members=members) == before
    for m in ("gen0", "gen1", "gen2", "cwtm"):
        log = log_of(tiny_copy, f"seed0/{m}")
        if m in ("gen1", "cwtm"):
            assert "is damaged" in log and "epoch   3/3" in log, log
        else:
            assert "restored from the store" in log, m
    assert planned_jobs(tiny_copy) == REPORTS


def test_damaged_missing_and_dangling_files_are_named_or_rebuilt(tiny_copy):
    """A replaced and an emptied checkpoint of leaf members are named by a dry run and by a run,
    each with its way out, and nothing changes; following the way out and deleting other files
    (a member folder, single outputs, a link to nothing) is repaired by one run."""
    before = digests(tiny_copy)
    results = tiny_copy / "results/tiny/cnn"
    args = {"width": 8, "hidden": 16}
    narrow = results / "seed0/dkpp/model.pt"
    narrow.unlink()
    save_model(narrow, build_model("cnn", 1, 4, **args), {"name": "cnn", "args": args, "in_channels": 1, "num_classes": 4},
               "synthetic", {})
    (results / "seed1/ind1/model.pt").write_bytes(b"")
    kept = {p: p.read_bytes() for p in results.rglob("*") if p.is_file()}
    for run in (("--dry-run",), ()):
        out = snakemake(tiny_copy, *run, check=False)
        text = out.stdout + out.stderr
        assert out.returncode != 0 and "Traceback" not in text
        for member in ("seed0/dkpp", "seed1/ind1"):
            lines = [line for line in text.splitlines() if line.startswith(f"results/tiny/cnn/{member}/model.pt: ")]
            assert len(lines) == 1 and lines[0].endswith(f"delete results/tiny/cnn/{member} to rebuild it"), text[-3000:]
        assert {p: p.read_bytes() for p in results.rglob("*") if p.is_file()} == kept

    for member in ("seed0/dkpp", "seed1/ind1", "seed0/gen0"):
        shutil.rmtree(results / member)  # the way out, and the README's "delete its folder"
    (results / "seed1/gen2/predictions.npz").unlink()
    (results / "seed1/cwtm/metrics.json").unlink()
    (results / "seed1/ens2/metrics.json").unlink()
    (results / "seed1/gen1/model.pt").unlink()
    (results / "seed1/gen1/model.pt").symlink_to(tiny_copy / ".snakemake-cache/gone_model.pt")  # dangling
    seed0 = {f"seed0/{m}" for m in ("gen0", *STUDENTS, "ens2", "indep2")}
    seed1 = {f"seed1/{m}" for m in ("gen1", "gen2", "cwtm", "ind1", "ens2", "indep2")}
    assert planned_jobs(tiny_copy) == seed0 | seed1 | REPORTS
    members = [f"results/tiny/cnn/{label}/metrics.json" for label in sorted(seed0 | seed1)]
    snakemake(tiny_copy, *members)  # the members (the reports after them are rebuilt by any full run)
    assert digests(tiny_copy) == before
    for label in {*seed0, *seed1} - {"seed0/ens2", "seed0/indep2", "seed1/ens2", "seed1/indep2"}:
        assert "restored from the store" in log_of(tiny_copy, label), label
    assert not (results / "seed1/gen1/model.pt").is_symlink()
    left = planned_jobs(tiny_copy)
    assert left <= REPORTS  # no member is left to rebuild (the reports may be)

    shutil.rmtree(tiny_copy / ".ban-store")  # results/ holds real files: nothing is lost
    assert planned_jobs(tiny_copy) == left
    assert digests(tiny_copy) == before


def forge_predictions(path: Path) -> None:
    """Replace ``path`` (a new file) by predictions of the same shape with uniform probabilities."""
    with np.load(path) as saved:
        arrays = {key: saved[key] for key in saved.files}
    arrays["probs"] = np.full_like(arrays["probs"], 1.0 / arrays["probs"].shape[1])
    path.unlink()
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)

