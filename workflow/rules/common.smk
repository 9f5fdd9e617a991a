# Paths, specs and code fingerprints shared by the rules. Rules only know paths and config slices;
# all computation happens in `python -m ban`.
import json
import os
import shlex
import shutil

from ban.study import (
    StudyError,
    code_fingerprint,
    ensemble_members,
    iter_members,
    member_dir,
    member_spec,
    spec_json,
    teacher_of,
    training_code_fingerprint,
)

TRAIN_CODE = training_code_fingerprint()
ENSEMBLE_CODE = code_fingerprint("ensemble.py", "metrics.py")
TABLE_CODE = code_fingerprint("report/tables.py")
PLOT_CODE = code_fingerprint("report/plots.py")
DEVICE = config["device"]
USES_GPU = int(DEVICE.startswith("cuda") or (DEVICE == "auto" and shutil.which("nvidia-smi") is not None))

try:
    MEMBERS = list(iter_members(config))
except StudyError as err:
    raise WorkflowError(f"invalid config: {err}") from None


wildcard_constraints:
    study=r"[A-Za-z0-9_.-]+",
    lineage=r"[A-Za-z0-9_.-]+",
    seed=r"\d+",
    k=r"[1-9]\d*",
    control="|".join(["ban_l", "cwtm", "dkpp"]),


def member_path(w, member, name):
    return f"{member_dir(w.study, w.lineage, w.seed, member)}/{name}"


def train_spec(member):
    """params function: the member's canonical spec JSON (changes => the member reruns)."""

    def spec(w):
        return spec_json(member_spec(config, w.study, w.lineage, int(w.seed), member(w)), TRAIN_CODE)

    return spec


def teacher_model(member):
    def path(w):
        return member_path(w, teacher_of(member(w)), "model.pt")

    return path


def imported_teacher(w):
    """``{"checkpoint": path}`` when the lineage starts from a trained teacher, else nothing."""
    spec = member_spec(config, w.study, w.lineage, int(w.seed), "gen0")
    return {"checkpoint": spec["checkpoint"]} if "checkpoint" in spec else {}


def ensemble_inputs(w):
    lineage = config["studies"][w.study]["lineages"][w.lineage]
    members = ensemble_members(lineage, int(w.k))
    return {
        "predictions": [member_path(w, m, "predictions.npz") for m in members],
        "metrics": [member_path(w, m, "metrics.json") for m in members],
    }


def study_metrics(w):
    """Every metrics.json of a study, lineages in config order."""
    return [
        f"{member_dir(study, lineage, seed, member)}/metrics.json"
        for study, lineage, seed, member in MEMBERS
        if study == w.study
    ]


def paper_argument(w):
    """``--paper '<json>'`` when the study lists the paper's single-seed numbers, else nothing."""
    paper = config["studies"][w.study].get("paper")
    return f"--paper {shlex.quote(json.dumps(paper, sort_keys=True))}" if paper else ""


def all_outputs():
    studies = config["studies"]
    return [f"results/{study}/table.md" for study in studies] + [
        f"results/{study}/plots/error_vs_generation.png" for study in studies
    ]


TRAIN_OUTPUTS = {
    "model": "results/{study}/{lineage}/seed{seed}/{member}/model.pt",
    "predictions": "results/{study}/{lineage}/seed{seed}/{member}/predictions.npz",
    "metrics": "results/{study}/{lineage}/seed{seed}/{member}/metrics.json",
}
TRAIN_SHELL = (
    "python -m ban train --spec {params.spec:q} --out {params.out:q} {params.teacher}"
    " --device {params.device} --threads {threads} > {log:q} 2>&1"
)


def outputs_for(member):
    """The training outputs of one member (a name or a wildcard pattern such as gen{k})."""
    return {k: v.replace("{member}", member) for k, v in TRAIN_OUTPUTS.items()}


def training_specs():
    """Every trained member's spec (ensembles are not trained)."""
    return [
        member_spec(config, study, lineage, seed, member)
        for study, lineage, seed, member in MEMBERS
        if not member.startswith("ens")
    ]


def check_before_running(specs_file):
    """Refuse a run whose specs cannot train (one line each) before any job deletes an output."""
    os.makedirs(os.path.dirname(specs_file), exist_ok=True)
    with open(specs_file, "w") as handle:
        json.dump(training_specs(), handle)
    shell("python -m ban check --specs {specs_file}")
