"""Report files against the records of what their jobs wrote (ban/written.py), on real files."""

from __future__ import annotations

import os
import subprocess
import sys

from ban.written import move_aside_edited, record_path, record_written


def written(folder, name: str, text: str):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_an_edited_file_is_kept_aside_and_named_the_rest_untouched(tmp_path):
    records = tmp_path / "records"
    table = written(tmp_path, "results/s/table.md", "| a |\n")
    touched = written(tmp_path, "results/s/table.csv", "a\n")
    unrecorded = written(tmp_path, "results/s/table.tex", "a\n")
    record_written([table, touched], records)
    assert move_aside_edited([table, touched, unrecorded, tmp_path / "missing.md"], records) == []
    table.write_text("| b |\n")  # an edit of the same size
    os.utime(touched, ns=(0, 10**9))  # touched, not changed: the sha256 decides
    earlier = written(tmp_path, "results/s/table.md.edited", "an earlier edit\n")
    lines = move_aside_edited([table, touched, unrecorded], records)
    assert lines == [f"{table}: changed since its job wrote it (sha256 differs from {record_path(table, records)}); "
                     f"kept as {table}.edited.2, rebuilt as missing"]
    assert not table.exists() and (tmp_path / "results/s/table.md.edited.2").read_text() == "| b |\n"
    assert earlier.read_text() == "an earlier edit\n" and touched.read_text() == "a\n" and unrecorded.exists()
    assert not record_path(table, records).exists() and record_path(touched, records).exists()


def test_python_m_ban_record_writes_the_records_the_workflow_reads(tmp_path, monkeypatch):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    monkeypatch.chdir(tmp_path)
    table = written(tmp_path, "results/s/claims.md", "claims\n")
    subprocess.run([sys.executable, "-m", "ban", "record", "results/s/claims.md"], cwd=tmp_path, env=env, check=True, capture_output=True)
    assert (tmp_path / ".snakemake/ban/written/results/s/claims.md.json").is_file()
    table.write_text("edited\n")
    assert move_aside_edited(["results/s/claims.md"]) == [
        "results/s/claims.md: changed since its job wrote it (sha256 differs from .snakemake/ban/written/results/s/claims.md.json); "
        "kept as results/s/claims.md.edited, rebuilt as missing"]
