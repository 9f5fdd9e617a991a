"""End-to-end runs of the workflow and its incremental-rerun guarantees."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch

from tests.workflow.conftest import edit_code, make_project, planned_jobs, read_config, snakemake, write_config

TRAINED = {f"seed{s}/{m}" for s in (0, 1) for m in ("gen0", "gen1", "gen2", "ban_l", "cwtm", "dkpp", "dkpp_fixed", "ind1")}
ENSEMBLES = {f"seed{s}/ens2" for s in (0, 1)}
INDEPENDENT_ENSEMBLES = {f"seed{s}/indep2" for s in (0, 1)}


def test_tiny_study_produces_every_artifact(finished_tiny):
    results = finished_tiny / "results/tiny"
    for label in TRAINED:
        member = results / "cnn" / label
        assert {p.name for p in member.iterdir()} == {"model.pt", "metrics.json", "predictions.npz", ".writer.lock"}
        metrics = json.loads((member / "metrics.json").read_text())
        assert 0.0 <= metrics["test_error"] <= 100.0 and len(metrics["history"]) == 3
    teacher = json.loads((results / "cnn/seed0/gen0/metrics.json").read_text())
    assert teacher["objective"] == "ce" and teacher["test_error"] < 40.0  # chance is 75 %
    dkpp = json.loads((results / "cnn/seed1/dkpp/metrics.json").read_text())
    assert dkpp["objective"] == "dkpp" and dkpp["member"] == "dkpp" and dkpp["seed"] == 1
    fixed = torch.load(results / "cnn/seed1/dkpp_fixed/model.pt", weights_only=True)["spec"]
    assert fixed["objective"] == {"name": "dkpp", "args": {"permutation": "per_example"}} and fixed["train_seed"] == 1104
    independent = torch.load(results / "cnn/seed1/ind1/model.pt", weights_only=True)["spec"]
    assert independent["objective"]["name"] == "ce" and independent["train_seed"] == 1201
    ens = json.loads((results / "cnn/seed0/ens2/metrics.json").read_text())
    assert ens["members"] == ["gen1", "gen2"] and "test_error" in ens
    table = (results / "table.md").read_text()
    header = next(line for line in table.splitlines() if line.startswith("| Lineage"))
    assert [c.strip() for c in header.strip("|").split("|")][2:] == [
        "Teacher", "BAN-1", "BAN-2", "BAN+L", "CWTM", "DKPP", "DKPP-fixed", "Ind-1", "Ens*2", "Indep*2"]
    assert "±" in table
    claims = (results / "claims.md").read_text()
    assert "BAN-1 beats its teacher" in claims and "Indep*2" in claims
    for png in ("error_vs_generation", "controls", "training_curves", "gains"):
        assert (results / f"plots/{png}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for log in ("cnn/seed0/gen1.log", "cnn/seed1/ens2.log", "table.log", "plot.log"):
        assert (finished_tiny / "logs/tiny" / log).is_file()
    assert "resumed" not in (finished_tiny / "logs/tiny/cnn/seed0/gen2.log").read_text()


def test_every_independent_ensemble_equals_its_members_average(finished_tiny):
    """Indep*k recomputed here from its members' predictions.npz (the teacher and ind1..ind(k-1))
    equals what the workflow wrote."""
    for seed in (0, 1):
        folder = finished_tiny / f"results/tiny/cnn/seed{seed}"
        written = json.loads((folder / "indep2/metrics.json").read_text())
        assert written["members"] == ["gen0", "ind1"]
        probs = []
        for member in written["members"]:
            with np.load(folder / member / "predictions.npz") as saved:
                probs.append(saved["probs"].astype(np.float64))
                labels = saved["labels"]
        mean = np.mean(probs, axis=0)
        assert written["test_error"] == 100.0 * float(np.mean(mean.argmax(axis=1) != labels))
        assert written["test_nll"] == pytest.approx(-np.mean(np.log(mean[np.arange(len(labels)), labels])), rel=1e-12)


def test_finished_study_has_nothing_to_do_quickly(tiny_copy, tmp_path):
    """A dry run of the finished study costs no more than planning the same study in an empty
    project (its whole DAG, every job printed): timed here in turns, best of three each, so that
    the load of the machine (other test workers, other jobs) moves both alike."""
    unfinished = make_project(tmp_path / "unfinished", read_config(tiny_copy))
    best = {"finished": float("inf"), "unfinished": float("inf")}
    for _ in range(3):
        for name, project in (("finished", tiny_copy), ("unfinished", unfinished)):
            start = time.perf_counter()
            out = snakemake(project, "--dry-run")
            best[name] = min(best[name], time.perf_counter() - start)
            assert ("Nothing to be done" in out.stdout + out.stderr) == (name == "finished")
    assert best["finished"] < 1.25 * best["unfinished"], f"dry runs (s): {best}"


def test_changing_a_generation_reruns_it_and_its_dependents_only(tiny_copy):
    config = read_config(tiny_copy)
    config["studies"]["tiny"]["lineages"]["cnn"]["overrides"] = {"gen2": {"recipe": {"epochs": 4}}}
    write_config(tiny_copy, config)
    assert planned_jobs(tiny_copy) == {"seed0/gen2", "seed1/gen2", *ENSEMBLES, "table", "plot", "claims"}
    config["studies"]["tiny"]["lineages"]["cnn"]["overrides"] = {"gen1": {"objective": "ban_l"}}
    write_config(tiny_copy, config)
    assert planned_jobs(tiny_copy) == {"seed0/gen1", "seed1/gen1", "seed0/gen2", "seed1/gen2", *ENSEMBLES, "table", "plot", "claims"}


def test_changing_a_control_reruns_only_that_control(tiny_copy):
    config = read_config(tiny_copy)
    config["studies"]["tiny"]["lineages"]["cnn"]["overrides"] = {"cwtm": {"recipe": {"lr": 0.02}}}
    write_config(tiny_copy, config)
    assert planned_jobs(tiny_copy) == {"seed0/cwtm", "seed1/cwtm", "table", "plot", "claims"}


def test_training_code_change_reruns_training(tiny_copy):
    edit_code(tiny_copy / "ban/objectives.py", "a change to training code")
    assert planned_jobs(tiny_copy) == TRAINED | ENSEMBLES | INDEPENDENT_ENSEMBLES | {"table", "plot", "claims"}


def test_plot_code_change_reruns_only_plots(tiny_copy):
    edit_code(tiny_copy / "ban/report/plots.py", "a change to plotting code")
    assert planned_jobs(tiny_copy) == {"plot"}
    edit_code(tiny_copy / "ban/report/tables.py", "a change to table code")
    assert planned_jobs(tiny_copy) == {"plot", "table"}


def test_finished_rerun_changes_nothing(tiny_copy):
    model = tiny_copy / "results/tiny/cnn/seed0/gen1/model.pt"
    before = model.stat().st_mtime_ns
    out = snakemake(tiny_copy)
    assert "Nothing to be done" in out.stdout + out.stderr
    assert model.stat().st_mtime_ns == before


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["studies"]["tiny"]["lineages"]["cnn"].update(generations=0), "generations"),
        (lambda c: c["studies"]["tiny"]["recipe"].update(epochs=-1), "epochs"),
        (lambda c: c["studies"]["tiny"]["lineages"]["cnn"].update(controls=["kd"]), "controls"),
        (lambda c: c["studies"]["tiny"]["lineages"]["cnn"].update(ensembles=[3]), "Ens*3 needs gen3"),
    ],
)
def test_bad_config_fails_before_any_job(tiny_copy, edit, message):
    config = read_config(tiny_copy)
    edit(config)
    write_config(tiny_copy, config)
    out = snakemake(tiny_copy, "--dry-run", check=False)
    assert out.returncode != 0 and message in out.stdout + out.stderr


def test_lineage_from_a_trained_teacher_reuses_its_checkpoint(tiny_copy):
    """teacher_checkpoint: gen0 is evaluated from another lineage's model.pt, not trained again;
    pointing it at another file imports that one and trains the students again (never restored).
    The study keeps seed 1 only: ``{seed}`` in the path must then name seed 1's files, not the first
    seed's, and the other lineage's seed-0 members must stay as they are."""
    from ban.store import sha256_file
    from tests.workflow.test_failures import fingerprints

    before = fingerprints(tiny_copy / "results/tiny/cnn")
    config = read_config(tiny_copy)
    config["studies"]["tiny"]["seeds"] = [1]
    cnn = config["studies"]["tiny"]["lineages"]["cnn"]
    config["studies"]["tiny"]["lineages"]["reused"] = {
        "teacher": cnn["teacher"],
        "teacher_checkpoint": "results/tiny/cnn/seed{seed}/gen0/model.pt",
        "generations": 1,
    }
    write_config(tiny_copy, config)
    assert planned_jobs(tiny_copy) == {"seed1/gen0", "seed1/gen1", "table", "plot", "claims"}
    snakemake(tiny_copy, "results/tiny/table.md")  # the lineage's members and the table (the plots and claims: below)
    assert fingerprints(tiny_copy / "results/tiny/cnn") == before
    for seed in (1,):
        source = json.loads((tiny_copy / f"results/tiny/cnn/seed{seed}/gen0/metrics.json").read_text())
        reused = json.loads((tiny_copy / f"results/tiny/reused/seed{seed}/gen0/metrics.json").read_text())
        assert reused["objective"] == "imported" and reused["epochs"] == 0 and reused["history"] == source["history"]
        assert reused["test_error"] == source["test_error"] and reused["test_nll"] == pytest.approx(source["test_nll"])
        assert "import gen0" in (tiny_copy / f"logs/tiny/reused/seed{seed}/gen0.log").read_text()
        student = json.loads((tiny_copy / f"results/tiny/reused/seed{seed}/gen1/metrics.json").read_text())
        assert student["objective"] == "ban" and len(student["history"]) == 3
    assert "reused" in (tiny_copy / "results/tiny/table.md").read_text()
    assert planned_jobs(tiny_copy) == {"table", "plot", "claims"}  # the other report jobs; no member trains again

    # Pointing the lineage at another checkpoint imports it and trains its students again, on it.
    imported = fingerprints(tiny_copy / "results/tiny/reused")
    config["studies"]["tiny"]["lineages"]["reused"]["teacher_checkpoint"] = "results/tiny/cnn/seed{seed}/ind1/model.pt"
    write_config(tiny_copy, config)
    assert planned_jobs(tiny_copy) == {"seed1/gen0", "seed1/gen1", "table", "plot", "claims"}
    snakemake(tiny_copy, "results/tiny/table.md")
    assert fingerprints(tiny_copy / "results/tiny/cnn") == before
    after = fingerprints(tiny_copy / "results/tiny/reused")
    for seed in (1,):
        for member in ("gen0", "gen1"):
            key = f"seed{seed}/{member}/predictions.npz"
            assert after[key][1] != imported[key][1], key
        student = json.loads((tiny_copy / f"results/tiny/reused/seed{seed}/gen1/metrics.json").read_text())
        teacher = tiny_copy / f"results/tiny/reused/seed{seed}/gen0/model.pt"
        assert student["teacher_sha256"] == sha256_file(teacher)
        assert "restored" not in (tiny_copy / f"logs/tiny/reused/seed{seed}/gen1.log").read_text()
