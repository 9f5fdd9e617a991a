"""`snakemake --report` of the finished tiny study: the description page, every table, the claims and every plot.

A ``.zip`` report keeps each reported file as it is (report/data/raw/<id>/<name>) next to
report/report.html, so the test reads the files themselves instead of decoding the HTML's embedded data.
"""

from __future__ import annotations

import zipfile

from tests.workflow.conftest import snakemake

TABLES = ("table", "table_nll", "table_ece", "table_fidelity")
PLOTS = ("error_vs_generation", "controls", "training_curves", "gains")


def test_report_shows_the_description_tables_claims_and_plots(tiny_copy):
    snakemake(tiny_copy, "--report", "report.zip", timeout=300)
    results = tiny_copy / "results/tiny"
    with zipfile.ZipFile(tiny_copy / "report.zip") as archive:
        files = {name.rsplit("/", 1)[-1]: archive.read(name) for name in archive.namelist()}
    assert {f"{stem}.md" for stem in TABLES} | {"claims.md", "claims.json"} | {f"{plot}.png" for plot in PLOTS} <= set(files)
    for name in ("claims.md", "claims.json", "table_fidelity.md", "table.md"):
        assert files[name] == (results / name).read_bytes(), name
    claims = files["claims.md"].decode("utf-8")
    assert claims.startswith("# Claims tested on study `tiny`") and "| cnn | BAN-1 − Teacher |" in claims
    for word in ("holds", "not shown", "reversed", "not tested"):  # the verdict rule in the header
        assert word in claims
    assert "| agreement (%) |" in files["table_fidelity.md"].decode("utf-8")
    html = files["report.html"].decode("utf-8")
    assert "Born-Again Neural Networks" in html and "Reading the claims" in html  # workflow/report/workflow.rst
    assert "Fidelity of each student to its own teacher" in html  # table.rst's caption for table_fidelity
    assert "Forest plot of the paired gains" in html  # gains.rst
    for category in ("Tables", "Claims", "Plots"):
        assert category in html
