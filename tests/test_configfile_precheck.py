"""The --configfile files of a snakemake command line, checked before Snakemake reads them
(ban/configfile_precheck.py). The real snakemake processes, through the workflow profiles, are in
tests/workflow/test_config_guards.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from snakemake.common.configfile import load_configfile

from ban.configfile import ALLOWED
from ban.configfile_precheck import command_line_problems, configfiles_on_command_line, refuse_bad_configfiles


@pytest.mark.parametrize(
    "argv, files",
    [
        (["--cores", "2", "-n"], []),
        (["--configfile", "a.yaml", "b.yaml", "-n"], ["a.yaml", "b.yaml"]),
        (["--configfile=a.yaml"], ["a.yaml"]),
        (["--configfiles", "a.yaml"], ["a.yaml"]),
        (["--configfiles", "a.yaml", "--configfile", "b.yaml"], ["b.yaml"]),  # Snakemake keeps the last
        (["--config", "configfile=a.yaml", "--configfile", "b.yaml", "--", "all"], ["b.yaml"]),
    ],
)
def test_the_files_snakemake_would_load(argv, files):
    assert configfiles_on_command_line(argv) == [Path(name) for name in files]


def test_what_snakemake_cannot_read_or_would_run_is_one_line_each(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("folder").mkdir()
    Path("latin1.yaml").write_bytes(b"studies: caf\xe9\n")
    Path("template.yaml").write_text("__use_yte__: true\nran: ?open('ran', 'w').close()\n")
    Path("plain.yaml").write_text("studies: {}\n")
    argv = ["-n", "--configfile", "folder", "missing.yaml", "latin1.yaml", "template.yaml", "plain.yaml"]
    assert command_line_problems(argv) == [
        f"folder: a folder, not a config file ({ALLOWED})",
        f"missing.yaml: no such file ({ALLOWED})",
        f"latin1.yaml: not UTF-8 text (byte 12) ({ALLOWED})",
        "template.yaml line 1: refused: __use_yte__ makes Snakemake run the file as a YTE template (Python code); "
        "config files must be plain YAML",
    ]
    assert not Path("ran").exists()
    with pytest.raises(IsADirectoryError):  # what Snakemake's own reader does: a traceback
        load_configfile("folder")
    with pytest.raises(UnicodeDecodeError):
        load_configfile("latin1.yaml")


def test_refusal_exits_1_after_one_line_per_problem_and_plain_files_pass(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("plain.yaml").write_text("studies: {}\n")
    refuse_bad_configfiles(["--configfile", "plain.yaml", "--cores", "1"])
    refuse_bad_configfiles(["-n"])
    assert capsys.readouterr().err == ""
    with pytest.raises(SystemExit) as exited:
        refuse_bad_configfiles(["--configfile", "plain.yaml", "missing.yaml"])
    assert exited.value.code == 1
    assert capsys.readouterr().err == f"invalid config: missing.yaml: no such file ({ALLOWED})\n"
