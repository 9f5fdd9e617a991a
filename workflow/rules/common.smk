# Paths, specs and code fingerprints shared by the rules. Rules only know paths and config slices;
# all computation happens in `python -m ban`. Input and params functions are named get_*.
import json
import os
import re
import shutil
import sys

from ban.datasets import dataset_task
from ban.fingerprint import RuleCode
from ban.integrity import HashMemo
from ban.member_kinds import CONTROL_PATTERN, ENSEMBLE_PATTERN, kind_of
from ban.plan import member_code, planned_members, same_training
from ban.study import (
    StudyError,
    ensemble_members,
    iter_members,
    member_dir,
    member_spec,
    spec_json,
    teacher_of,
)
from ban.sweeps import cells as sweep_cells, predictions_of
from ban.tasks import TASKS, table_stems

CODE = RuleCode()  # fingerprints of each rule's code (its AST, not comments or docstrings), from the imports of ban/ (ban/fingerprint.py)
RERUN_ON_CODE_CHANGE = config["rerun_on_code_change"]
DEVICE = config["device"]
USES_GPU = int(DEVICE.startswith("cuda") or (DEVICE == "auto" and shutil.which("nvidia-smi") is not None))
TABLE_STEMS = sorted({stem for task in TASKS for stem in table_stems(task, paper=True)})
PLOTS = ("error_vs_generation", "controls", "training_curves")

try:
    MEMBERS = list(iter_members(config))
except StudyError as err:
    raise WorkflowError(f"invalid config: {err}") from None
MEMO = HashMemo(".snakemake/ban/sha256.json")  # sha256 of data, checkpoints and results, remembered by stat
PLANNED = planned_members(config, CODE, MEMO.sha256)  # trained member -> its job's spec and planned identity
SAME_AS = same_training(PLANNED)  # member -> the earlier member of the same training


wildcard_constraints:
    study=r"(?!\.\.?/)[A-Za-z0-9_.-]+",
    lineage=r"(?!\.\.?/)[A-Za-z0-9_.-]+",
    seed=r"\d+",
    k=r"[1-9]\d*",
    control=CONTROL_PATTERN,
    i=r"[1-9]\d*",
    t=r"[1-9]\d*",
    ensemble=ENSEMBLE_PATTERN,
    sweep=r"(?!\.\.?/)[A-Za-z0-9_.-]+",
    stem="|".join(re.escape(stem) for stem in TABLE_STEMS + ["table_fidelity"]),


def member_path(w, member, name):
    return f"{member_dir(w.study, w.lineage, w.seed, member)}/{name}"


def get_member_code(w, member):
    """The code fingerprint of a member's job: the current one, or with rerun_on_code_change false
    the one its finished metrics.json records (finished members keep their params; ban/plan.py)."""
    return member_code(config, CODE, (w.study, w.lineage, int(w.seed), member))


def get_report_code(*rules):
    """params function: the code fingerprint of a table, plot, claims or regime job, from its rule's
    entry modules (ban/fingerprint.py ENTRY_MODULES; a table of a study with paper numbers adds
    "paper"); "frozen" when code changes trigger nothing."""

    def code(w):
        if not RERUN_ON_CODE_CHANGE:
            return "frozen"
        paper = ("paper",) if "table" in rules and config["studies"][w.study].get("paper") else ()
        return CODE(*rules, *paper)

    return code


def get_member(w):
    """The member a training job trains: gen0, gen<k>, the control, ind<i> or tune<i>."""
    if "k" in w.keys():
        return f"gen{w.k}"
    if "control" in w.keys():
        return w.control
    if "i" in w.keys():
        return f"ind{w.i}"
    if "t" in w.keys():
        return f"tune{w.t}"
    return "gen0"


def get_train_spec(w):
    """params function: the member's canonical spec JSON with its code fingerprint (ban/plan.py)."""
    spec = PLANNED[(w.study, w.lineage, int(w.seed), get_member(w))].spec
    return spec_json(spec, spec["code"])


def get_training_inputs(w):
    """A training job's inputs: its identity marker (identity_marker); the teacher's model.pt for
    a student; the imported checkpoint for a teacher_checkpoint lineage's gen0; and, for a member
    whose identity an earlier member of the config has, that member's metrics.json, so that it
    runs after it and restores its training from the store instead of training it again."""
    member = (w.study, w.lineage, int(w.seed), get_member(w))
    inputs = {"identity": identity_marker(member)}
    teacher = teacher_of(member[3])
    if teacher is not None:
        inputs["teacher"] = member_path(w, teacher, "model.pt")
    imported = PLANNED[member].spec.get("checkpoint")
    if imported:
        inputs["checkpoint"] = imported
    if member in SAME_AS:
        inputs["same"] = f"{member_dir(*SAME_AS[member])}/metrics.json"
    return inputs


def get_teacher_argument(w, input):
    """``["--teacher", <model.pt>]`` for students, nothing for the teacher (quoted by the rule)."""
    teacher = input.get("teacher")
    return ["--teacher", teacher] if teacher else []


def get_ensemble_inputs(w):
    lineage = config["studies"][w.study]["lineages"][w.lineage]
    members = ensemble_members(lineage, w.ensemble)
    return {
        "predictions": [member_path(w, m, "predictions.npz") for m in members],
        "metrics": [member_path(w, m, "metrics.json") for m in members],
    }


def get_ensemble_members(w, input):
    """params function: the member folders an ensemble averages (a list: ``{params.members:q}``
    quotes each)."""
    return [os.path.dirname(p) for p in input.predictions]


def get_ensemble_code(w):
    return get_member_code(w, w.ensemble)


def get_study_metrics(w):
    """Every metrics.json of a study, lineages in config order."""
    return [f"{member_dir(study, lineage, seed, member)}/metrics.json" for study, lineage, seed, member in MEMBERS if study == w.study]


def get_paper_argument(w):
    """params function: ``["--paper", <json>]`` when the study lists the paper's single-seed numbers,
    else ``[]`` (``{params.paper:q}`` quotes each word; an empty list adds nothing)."""
    paper = config["studies"][w.study].get("paper")
    return ["--paper", json.dumps(paper, sort_keys=True)] if paper else []


def get_output_dir(w, output):
    return os.path.dirname(output[0])


def study_stems(study):
    """The table stems a study writes: its task's tables, and table_paper with paper numbers."""
    s = config["studies"][study]
    try:
        task = dataset_task(s["dataset"]["name"])
    except ValueError as err:
        raise WorkflowError(f"invalid config: studies.{study}.dataset.name: {err}") from None
    return table_stems(task, paper=bool(s.get("paper")))


def all_outputs():
    """Every member's files, then every study's tables (with table_fidelity for image studies),
    plots and claims. The member files are targets so that a missing or dangling one is rebuilt
    (Snakemake does not rebuild a missing intermediate file while the files after it are newer)."""
    outputs = []
    for study, lineage, seed, member in MEMBERS:
        folder = member_dir(study, lineage, seed, member)
        names = ("model.pt", "predictions.npz", "metrics.json") if kind_of(member).trained else ("metrics.json",)
        outputs += [f"{folder}/{name}" for name in names]
    for study in config["studies"]:
        outputs += [f"results/{study}/{stem}.{ext}" for stem in report_stems(study) for ext in ("csv", "md", "tex")]
        outputs += [f"results/{study}/plots/{name}.png" for name in REPORT_PLOTS]
        outputs += [f"results/{study}/claims.{ext}" for ext in ("md", "json")] + [f"results/{study}/scores.csv"]
    for sweep in SWEEPS:
        outputs += [f"results/{sweep}/regime.{ext}" for ext in ("csv", "md", "png")]
    return outputs


def member_outputs(member):
    """The training outputs of one member (a name or a wildcard pattern such as gen{k})."""
    folder = f"results/{{study}}/{{lineage}}/seed{{seed}}/{member}"
    return {
        "model": f"{folder}/model.pt",
        "predictions": f"{folder}/predictions.npz",
        "metrics": f"{folder}/metrics.json",
    }


# Report additions: the fidelity table, the forest plot of the gains and the claims.
FIDELITY_STEM = "table_fidelity"
REPORT_PLOTS = PLOTS + ("gains",)


def study_task(study):
    """The task (image or text) of a study's dataset."""
    try:
        return dataset_task(config["studies"][study]["dataset"]["name"])
    except ValueError as err:
        raise WorkflowError(f"invalid config: studies.{study}.dataset.name: {err}") from None


def report_stems(study):
    """The table stems a study writes: study_stems, then table_fidelity for image studies."""
    return study_stems(study) + ([FIDELITY_STEM] if study_task(study) == "image" else [])


def get_fidelity_predictions(w):
    """predictions.npz of every student of the study (BAN generations, controls) and of its
    teacher, in config order; the table job reads each one beside its metrics.json."""
    files = {}  # ordered, without repeats
    for study, lineage, seed, member in MEMBERS:
        teacher = kind_of(member).teacher if kind_of(member).trained else None
        if study == w.study and teacher is not None:
            for name in (teacher, member):
                files[f"{member_dir(study, lineage, seed, name)}/predictions.npz"] = None
    return list(files)


def get_table_inputs(w):
    """A table job's inputs: the study's metrics; table_fidelity also reads the predictions."""
    inputs = {"metrics": get_study_metrics(w)}
    if w.stem == FIDELITY_STEM:
        inputs["predictions"] = get_fidelity_predictions(w)
    return inputs


def get_margin_argument(w):
    """params function: ``["--equivalence-margin", X]`` when the study sets
    claims.equivalence_margin, else ``[]`` (``{params.margin:q}`` quotes each word)."""
    margin = config["studies"][w.study].get("claims", {}).get("equivalence_margin")
    return ["--equivalence-margin", repr(float(margin))] if margin is not None else []


SWEEPS = sweep_cells(config)  # sweep -> [(cell study, {factor: value})] (ban/sweeps.py)


def get_regime_inputs(w):
    """A regime job's inputs: every cell's claims.json and metrics files."""
    cells = [name for name, _ in SWEEPS[w.sweep]]
    return {
        "claims": [f"results/{name}/claims.json" for name in cells],
        "metrics": [f"{member_dir(*m)}/metrics.json" for m in MEMBERS if m[0] in cells],
    }


def get_regime_cells(w):
    """params function: the sweep's cells and their factor values, as JSON for the command line
    (``{params.cells:q}`` quotes it)."""
    return json.dumps([[name, factors] for name, factors in SWEEPS[w.sweep]], sort_keys=True)


def get_regime_predictions(w):
    """params function: the sweep's predictions with the cells each applies to (ban/sweeps.py), as
    JSON for the command line."""
    return json.dumps(predictions_of(config, w.sweep), sort_keys=True)


IDENTITY_MARKERS = ".snakemake/ban/identity"


def identity_marker(member):
    """The file whose mtime tells Snakemake whether a finished member is the one the config asks
    for: it holds the planned identity and is dated 1970 (never newer than an output) unless the
    member's metrics.json records another identity; then it is dated now, so the member reruns.
    Rewritten on every invocation: independent of Snakemake's .snakemake/metadata."""
    return f"{IDENTITY_MARKERS}/{member_dir(*member)}"
