"""Adding a control is one objective, one ``Control(...)`` line and one schema enum entry.

In a copy of the project: register an objective in ``ban/objectives.py``, add its ``Control`` to
``ban/member_kinds.py`` and its name to the schema's ``control_name`` enum; then the tiny study (one
seed, one generation, only the new control) trains it, its column is in the table and the controls
plot is drawn. Nothing else in the workflow, the trainer or the report names controls.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from tests.workflow.conftest import TINY, make_project, snakemake
from tests.workflow.test_schema_agreement import schema_node

NAME, LABEL, OBJECTIVE = "halfway", "Halfway", "halfway"

NEW_OBJECTIVE = f'''

@objective("{OBJECTIVE}", needs_teacher=True, needs_labels=True)
def {OBJECTIVE}(student_logits: torch.Tensor, teacher_logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Half the teacher cross-entropy, half the label cross-entropy (a throw-away test control)."""
    return 0.5 * ban(student_logits, teacher_logits) + 0.5 * ce(student_logits, targets)
'''
NEW_CONTROL = f'Control("{NAME}", "{LABEL}", "{OBJECTIVE}", 150, "#17becf", "-"),'


def add_control(project: Path) -> None:
    with open(project / "ban/objectives.py", "a") as handle:
        handle.write(NEW_OBJECTIVE)

    members = project / "ban/member_kinds.py"
    text = members.read_text()
    lines = list(re.finditer(r"^([ \t]*)Control\(\".*\),[ \t]*$", text, re.M))
    assert lines, f"no Control(...) lines in {members}"
    last = lines[-1]
    members.write_text(text[: last.end()] + f"\n{last.group(1)}{NEW_CONTROL}" + text[last.end() :])

    schema = project / "workflow/schemas/config.schema.yaml"
    text = schema.read_text()
    enum = schema_node(("$defs", "control_name", "enum"), text)
    assert enum.flow_style, "the control_name enum is one line [a, b, c]"
    close = enum.end_mark.index - 1  # the "]"
    assert text[close] == "]"
    schema.write_text(text[:close] + f", {NAME}" + text[close:])


def test_a_new_control_trains_and_shows_in_the_table_and_plots(tmp_path):
    config = yaml.safe_load(TINY.read_text())
    study = config["studies"]["tiny"]
    study["seeds"] = [0]
    lineage = study["lineages"]["cnn"]
    lineage.update(generations=1, controls=[NAME], ensembles=[], independent=0)
    project = make_project(tmp_path / "project", config)
    add_control(project)

    snakemake(project)

    results = project / "results/tiny"
    metrics = json.loads((results / f"cnn/seed0/{NAME}/metrics.json").read_text())
    assert metrics["member"] == NAME and metrics["objective"] == OBJECTIVE and len(metrics["history"]) == 3
    assert (results / f"cnn/seed0/{NAME}/model.pt").is_file()
    table = (results / "table.md").read_text()
    header = next(line for line in table.splitlines() if line.startswith("| Lineage"))
    assert [c.strip() for c in header.strip("|").split("|")][2:] == ["Teacher", "BAN-1", LABEL]
    assert (results / "plots/controls.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = snakemake(project, "--dry-run")
    assert "Nothing to be done" in out.stdout + out.stderr
