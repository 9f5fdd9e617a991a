"""The console's lines for failed jobs, from the job logs a Snakemake log names (ban/failures.py)."""

from __future__ import annotations

from ban.failures import failure_lines, last_error, print_failures


def job_log(tmp_path, name: str, text: str) -> str:
    path = tmp_path / "logs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_only_this_runs_logs_that_end_in_an_error_line(tmp_path, capsys):
    failed = job_log(tmp_path, "gen0.log", "train gen0: cnn\nepoch 1/3\nerror: training diverged in epoch 2 (loss nan)\n\n")
    finished = job_log(tmp_path, "gen1.log", "train gen1: cnn\nerror: not the last line\ndone: test error 5.0%\n")
    traceback = job_log(tmp_path, "gen2.log", "Traceback (most recent call last):\nRuntimeError: boom\n")
    earlier = job_log(tmp_path, "gen3.log", "error: an earlier run's failure\n")
    snakemake_log = tmp_path / "run.snakemake.log"
    snakemake_log.write_text(
        f"localrule teacher:\n    log: {finished}\nlocalrule generation:\n    log: {traceback}, {tmp_path}/gone.log\n"
        f"Error in rule teacher:\n    log: {failed} (check log file(s) for error details)\n"
        f"    shell: python -m ban train > {failed} 2>&1\nComplete log(s): {snakemake_log}\n"
    )
    lines = failure_lines([str(snakemake_log)])
    assert lines == [f"{failed}: error: training diverged in epoch 2 (loss nan)"]
    assert earlier not in "".join(lines)
    print_failures(str(snakemake_log))
    assert capsys.readouterr().err.splitlines() == ["1 failed job(s), from their logs:", *lines]


def test_nothing_to_say_without_a_readable_snakemake_log(tmp_path, capsys):
    assert failure_lines([str(tmp_path / "missing.log")]) == [] and failure_lines(None) == []
    print_failures([])
    assert capsys.readouterr().err == ""


def test_last_error_reads_only_the_tail_of_a_long_log(tmp_path):
    path = tmp_path / "long.log"
    path.write_text("epoch line\n" * 100_000 + "error: disk full\n")
    assert last_error(path) == "error: disk full"
    assert last_error(tmp_path / "missing.log") is None
