"""Config that must never reach a job, through real Snakemake runs on a copy of the finished tiny
study: names that would leave the project, YTE templates, paper values the table job would
refuse, counts past their bounds. Each is one line before any job; nothing is written or lost.
(The functions behind these lines are tested one by one in tests/test_configfile.py and
tests/report/test_paper.py; here one run reports several problems at once.)"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.workflow.conftest import read_config, snakemake, write_config
from tests.workflow.test_failures import assert_one_line_errors, fingerprints

NAME_RULE = "is not a valid name (letters, digits, _ . - and not . or ..: a study or lineage name is a folder of results/ and logs/)"


def outside(project: Path) -> dict[str, object]:
    """Every file and folder next to the project (in its parent folder), with mtimes and contents."""
    return {p.name: fingerprints(p) if p.is_dir() else p.stat().st_mtime_ns for p in project.parent.iterdir() if p != project}


def test_names_that_leave_the_project_are_refused(tiny_copy):
    """Study '..' with lineage '..' would write results/../../seed0/gen0: next to the project."""
    config = read_config(tiny_copy)
    study = config["studies"]["tiny"]
    config["studies"][".."] = {**study, "lineages": {"..": study["lineages"]["cnn"]}}
    write_config(tiny_copy, config)
    before, beside = fingerprints(tiny_copy / "results"), outside(tiny_copy)
    out = snakemake(tiny_copy, check=False)
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert_one_line_errors(text, f"config: studies: '..' {NAME_RULE}")
    assert_one_line_errors(text, f"config: studies.'..'.lineages: '..' {NAME_RULE}")
    assert outside(tiny_copy) == beside and fingerprints(tiny_copy / "results") == before
    assert not (tiny_copy / "table.csv").exists() and not (tiny_copy / "logs" / "table.log").exists()


def test_yte_paper_and_bounds_are_one_line_each_before_any_job(tiny_copy):
    """One `--configfile` run without the workflow profile, so that the Snakefile's own checks
    see everything: the file is a YTE template (refused, though Snakemake's command line has run
    it by now: this one holds no code), paper values with a typo and an unknown lineage (the table
    job would fail and lose the finished tables), `epochs: 1e12` (text in YAML 1.1) and a
    batch_size past its bound."""
    config = read_config(tiny_copy)
    study = config["studies"]["tiny"]
    study["paper"] = {"cnn": {"Teacher": 14.0, "CWMT": 13.0}, "resnet": {"Teacher": 5.0}}
    study["lineages"]["cnn"]["recipe"] = {"batch_size": 10**12}
    text = "__use_yte__: true\n" + yaml.safe_dump(config, sort_keys=False)
    assert "    epochs: 3\n" in text
    (tiny_copy / "template.yaml").write_text(text.replace("    epochs: 3\n", "    epochs: 1e12\n"))
    before = fingerprints(tiny_copy / "results")
    assert any(name.startswith("tiny/table") for name in before)
    out = snakemake(tiny_copy, "--workflow-profile", "none", "--configfile", "template.yaml", check=False)
    text = out.stdout + out.stderr
    assert out.returncode != 0
    for line in [
        f"{tiny_copy / 'template.yaml'} line 1: refused: __use_yte__ makes Snakemake run the file as a YTE template",
        "config: studies.tiny.paper.cnn.CWMT: not a column of lineage 'cnn' in the study's tables (allowed: Teacher, BAN-1, "
        "BAN-2, BAN+L, CWTM, DKPP, DKPP-fixed, Ind-1, Ens*2, Indep*2 or a member's name (gen1 for BAN-1))",
        "config: studies.tiny.paper.resnet: 'resnet' is not a lineage of study 'tiny' (lineages: cnn)",
        "config: studies.tiny.recipe.epochs: '1e12' is not of type 'integer' (YAML reads 1e12 as text",
        "config: studies.tiny.lineages.cnn.recipe.batch_size: 1000000000000 is greater than the maximum of 1048576",
    ]:
        assert_one_line_errors(text, line)
    assert fingerprints(tiny_copy / "results") == before


def test_a_yte_template_in_the_default_config_runs_no_code(tiny_copy):
    marker = tiny_copy.parent / "ran"
    text = (tiny_copy / "config.yaml").read_text()
    (tiny_copy / "config.yaml").write_text(f"__use_yte__: true\nran: ?open({str(marker)!r}, 'w').close()\n{text}")
    out = snakemake(tiny_copy, check=False)
    assert out.returncode != 0
    assert_one_line_errors(out.stdout + out.stderr, "config.yaml line 1: refused: __use_yte__ makes Snakemake run the file")
    assert not marker.exists()


def test_config_files_snakemake_cannot_read_or_would_run_are_refused_before_it_reads_them(tiny_copy):
    """Snakemake's command line loads --configfile files before the Snakefile runs: a folder, a
    missing file and one that is not UTF-8 ended there in a traceback, and a YTE template ran its
    code even on --dry-run. Both workflow profiles refuse them first (ban/configfile_precheck.py), one
    line each, and nothing runs; a plain file passes."""
    marker = tiny_copy.parent / "ran"
    (tiny_copy / "folder").mkdir()
    (tiny_copy / "latin1.yaml").write_bytes(b"studies: caf\xe9\n")
    code = f"__use_yte__: true\nran: ?open({str(marker)!r}, 'w').close()\n"
    (tiny_copy / "template.yaml").write_text(code + (tiny_copy / "config.yaml").read_text())
    before = fingerprints(tiny_copy / "results")
    allowed = "(--configfile takes YAML or JSON files, e.g. configs/regimes.yaml)"
    refused = "template.yaml line 1: refused: __use_yte__ makes Snakemake run the file as a YTE template"

    out = snakemake(tiny_copy, "--dry-run", "--configfile", "folder", "missing.yaml", "latin1.yaml", "template.yaml", check=False)
    text = out.stdout + out.stderr
    assert out.returncode == 1, text[-3000:]
    for line in [f"invalid config: folder: a folder, not a config file {allowed}",
                 f"invalid config: missing.yaml: no such file {allowed}",
                 f"invalid config: latin1.yaml: not UTF-8 text (byte 12) {allowed}", f"invalid config: {refused}"]:
        assert_one_line_errors(text, line)
    out = snakemake(tiny_copy, "--workflow-profile", "workflow/profiles/slurm", "--dry-run", "--configfile=template.yaml", check=False)
    assert out.returncode == 1 and f"invalid config: {refused}" in out.stderr, out.stderr[-3000:]
    assert not marker.exists()

    out = snakemake(tiny_copy, "--dry-run", "--configfile", "config.yaml")
    assert "Nothing to be done" in out.stdout + out.stderr and "invalid config" not in out.stdout + out.stderr
    assert fingerprints(tiny_copy / "results") == before
