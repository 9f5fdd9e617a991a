"""No shell command of the workflow takes a value unquoted: every ``{...}`` field of a rule's
``shell:`` (and of a ``shell(...)`` call) carries Snakemake's ``:q`` (``shlex.quote`` of the value,
of each element for a list) unless it is ``{log}``, ``{threads}`` or a ``{resources.*}``; and real
runs where a value read from a finished ``metrics.json`` or from the config holds ``$(...)`` pass
it on as one word, running nothing."""

from __future__ import annotations

import ast
import io
import json
import string
import tokenize
from pathlib import Path

import yaml

from tests.workflow.conftest import REPO, TINY, make_project, read_config, snakemake, write_config

UNQUOTED_ALLOWED = ("log", "threads")
"""Fields that may stand without ``:q``: the log path (always a rule's own path) and the thread count."""
WHITELIST: set[tuple[str, str]] = set()


def shell_strings(text: str) -> list[tuple[int, str]]:
    """``(line, command)`` of every ``shell:`` directive and ``shell(...)`` call in Snakemake
    source ``text``: the string literals that follow, concatenated as Python concatenates them.
    A command that is not made of plain string literals (an f-string, a variable) reads
    ``{<not a literal>}``, a field the scan names."""
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline)
              if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT)]
    found = []
    for i, token in enumerate(tokens[:-1]):
        if token.type != tokenize.NAME or token.string != "shell" or tokens[i + 1].string not in (":", "("):
            continue
        if i > 0 and tokens[i - 1].string == ".":  # an attribute named shell, not the directive
            continue
        parts = []
        for following in tokens[i + 2:]:
            if following.type != tokenize.STRING:
                break
            try:
                parts.append(ast.literal_eval(following.string))
            except ValueError:
                parts.append("{<not a literal>}")
        found.append((token.start[0], "".join(parts) if parts else "{<not a literal>}"))
    return found


def unquoted_fields(path: Path) -> list[str]:
    """``file:line {field}`` for every field of a shell command in ``path`` without ``:q``."""
    offenders = []
    for line, command in shell_strings(path.read_text()):
        for _, field, spec, _ in string.Formatter().parse(command):
            if field is None:
                continue
            allowed = field in UNQUOTED_ALLOWED or field.startswith("resources.") or (path.name, field) in WHITELIST
            if not (spec or "").endswith("q") and not allowed:
                offenders.append(f"{path.relative_to(REPO)}:{line} {{{field}{':' + spec if spec else ''}}}")
    return offenders


def workflow_files() -> list[Path]:
    return [REPO / "Snakefile", *sorted((REPO / "workflow/rules").glob("*.smk"))]


def test_the_scan_reads_every_rule_and_names_an_unquoted_field():
    commands = [command for path in workflow_files() for _, command in shell_strings(path.read_text())]
    assert sum("python -m ban " in c for c in commands) >= 6  # teacher, ensemble, table, plot, claims, regime
    sample = ('rule x:\n    params:\n        code="x",\n    shell:\n'
              '        "run --a {params.code:q}"\n        " --b {params.code} > {log}"\n'
              'def f(path):\n    shell("run --c {path:q}" " {path}")\n    workflow.shell("not a command")\n')
    assert shell_strings(sample) == [(4, "run --a {params.code:q} --b {params.code} > {log}"),
                                     (8, "run --c {path:q} {path}")]


def test_every_shell_field_is_quoted():
    offenders = [line for path in workflow_files() for line in unquoted_fields(path)]
    assert not offenders, "shell fields without :q:\n" + "\n".join(offenders)


def test_a_recorded_code_holding_a_command_runs_nothing(tiny_copy, tmp_path):
    """With rerun_on_code_change false an ensemble's --code is the one its metrics.json records
    (common.smk get_member_code): a rerun passes it on as one word."""
    config = read_config(tiny_copy)
    config["rerun_on_code_change"] = False
    write_config(tiny_copy, config)
    marker = tmp_path / "X"
    metrics_path = tiny_copy / "results/tiny/cnn/seed0/ens2/metrics.json"
    metrics = json.loads(metrics_path.read_text())
    metrics["code"] = f"$(touch {marker})"
    metrics_path.write_text(json.dumps(metrics))
    out = snakemake(tiny_copy, str(metrics_path.relative_to(tiny_copy)), "--forcerun", "ensemble", check=False)  # this ensemble
    assert not marker.exists()
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(metrics_path.read_text())["code"] == f"$(touch {marker})"  # recorded as given


def test_a_config_string_holding_a_command_runs_nothing(tmp_path):
    """A sweep factor's value reaches the regime job's --cells (JSON of the cells and their
    values); dataset.root is a free string the synthetic dataset does not read."""
    marker = tmp_path / "X"
    base = yaml.safe_load(TINY.read_text())["studies"]["tiny"]
    base["dataset"].update(n_train=128, n_test=64)
    base["recipe"]["epochs"] = 1
    base["seeds"] = [0]
    base["lineages"]["cnn"].update(generations=1, controls=[], ensembles=[], independent=0)
    project = make_project(tmp_path / "project", {"sweeps": {"sw": {"base": base, "factors": {"dataset.root": [f"$(touch {marker})"]}}}})
    snakemake(project, "results/sw/regime.csv")
    assert not marker.exists()
    assert f"$(touch {marker})" in (project / "results/sw/regime.csv").read_text()
