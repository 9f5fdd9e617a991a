# Checks that run when the workflow is read, before any job (dry runs included, except inside a
# cluster job's own Snakemake): the pre-flight check of every spec (onstart), imported teachers,
# finished files against their recorded sha256, each member's identity against the config, the
# device, and report files edited by hand. Each problem is one line; nothing finished is deleted.
import os
import sys
import time

from ban.integrity import finished_problems, remove_dangling
from ban.plan import compare, recorded_metrics


def training_specs():
    """Every trained member's spec (ensembles are not trained)."""
    return [member_spec(config, study, lineage, seed, member) for study, lineage, seed, member in MEMBERS if kind_of(member).trained]


def finished_folders():
    """Member folders (trained and ensembles) with a finished output: the files jobs may read."""
    folders = [member_dir(*member) for member in MEMBERS]
    return [d for d in folders if any(os.path.exists(f"{d}/{name}") for name in ("model.pt", "predictions.npz", "metrics.json"))]


def check_before_running():
    """Refuse a run whose specs cannot train or whose finished files are damaged (one line each),
    before any job deletes an output (ban/validate.py). It runs in this process (onstart: real runs
    with jobs to do), which imports torch for it, as ``python -m ban check`` would."""
    from ban.validate import check_specs

    specs, finished = training_specs(), finished_folders()
    problems = check_specs(specs, device=DEVICE, finished=finished)
    if problems:
        raise WorkflowError("the pre-flight check refused this run (nothing was deleted):\n" + "\n".join(problems))
    print(f"checked {len(specs)} specs and {len(finished)} finished folders: all usable", file=sys.stderr)


def check_teacher_checkpoints():
    """A teacher_checkpoint must exist or be written by this run: else even a finished lineage
    would keep a teacher that no longer matches its config."""
    produced = {f"{member_dir(*member)}/model.pt" for member in MEMBERS}
    for study, lineage, seed, member in MEMBERS:
        if member != "gen0":
            continue
        source = member_spec(config, study, lineage, seed, "gen0").get("checkpoint")
        if source and not os.path.exists(source) and os.path.normpath(source) not in produced:
            raise WorkflowError(
                f"invalid config: studies.{study}.lineages.{lineage}.teacher_checkpoint: {source} (seed {seed}) "
                "does not exist and no member of this run writes it"
            )


check_teacher_checkpoints()


def check_finished_files():
    """Every finished trained member's files against the sha256 its metrics.json records, and each
    student against its teacher's current model.pt (ban/integrity.py); on every invocation, dry
    runs included, except inside a remote job (a cluster job's own Snakemake)."""
    members = []
    for study, lineage, seed, member in MEMBERS:
        if kind_of(member).trained:
            teacher = kind_of(member).teacher
            members.append((member_dir(study, lineage, seed, member), teacher and member_dir(study, lineage, seed, teacher)))
    problems = finished_problems(members, MEMO)
    if problems:
        raise WorkflowError("finished results that cannot be used:\n" + "\n".join(problems))


if not workflow.remote_exec:
    DANGLING = remove_dangling(all_outputs())
    if DANGLING:
        print(f"removed {len(DANGLING)} dangling links, rebuilt as missing: {' '.join(DANGLING)}", file=sys.stderr)
    check_finished_files()


def mark_identities():
    """Write every trained member's identity marker; return the folders whose identity differs."""
    differing = []
    for member, planned in PLANNED.items():
        folder = member_dir(*member)
        metrics = recorded_metrics(f"{folder}/metrics.json")
        differs = metrics is not None and compare(planned, metrics, {}).differs
        path = identity_marker(member)
        text = f"{planned.identity or 'unknown until its imported checkpoint is written'}\n"
        if not os.path.isfile(path) or open(path).read() != text:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as handle:
                handle.write(text)
        stamp = time.time() if differs else 0
        os.utime(path, (stamp, stamp))
        if differs:
            differing.append(folder)
    return differing


if not workflow.remote_exec:
    DIFFERING = mark_identities()
    if DIFFERING:
        print(
            f"{len(DIFFERING)} finished members differ from what the config asks (their recorded identity is another; "
            f"they rerun): {' '.join(DIFFERING[:5])}{' …' if len(DIFFERING) > 5 else ''}",
            file=sys.stderr,
        )
    if SAME_AS:
        print(
            f"{len(PLANNED)} trained members, {len(PLANNED) - len(SAME_AS)} distinct trainings: {len(SAME_AS)} members "
            "ask for the training of an earlier one and restore it from the store",
            file=sys.stderr,
        )


def check_device():
    """`device: cuda` on a machine whose torch has no CUDA: one line, dry runs included (ban/devices.py)."""
    from ban.devices import cuda_problem

    problem = cuda_problem(DEVICE)
    if problem:
        raise WorkflowError(f"invalid config: {problem}")


def check_report_files():
    """A report file changed since its job wrote it is named, kept aside and rebuilt (ban/written.py)."""
    from ban.written import move_aside_edited

    for line in move_aside_edited(all_outputs()):
        print(line, file=sys.stderr)


if not workflow.remote_exec:
    check_device()
    check_report_files()
