# Tables (pandas), plots (matplotlib) and the claims of a study's metrics; the regime map of a
# sweep (its cells' claims side by side). One table job per stem:
# the study's task names its tables (ban.tasks), table_paper is added for a study with paper
# numbers, and image studies add table_fidelity (read from the students' and teachers' predictions).
# Each job then records the sha256 of what it wrote (python -m ban record, ban/written.py): a report
# file edited afterwards is named, kept aside and rebuilt by the next invocation (common.smk).
# The Snakemake report (snakemake --report report.html) opens with the page below.


report: "../report/workflow.rst"


localrules:
    claims,
    regime,


rule table:
    input:
        unpack(get_table_inputs),
    output:
        csv="results/{study}/{stem}.csv",
        md=report(
            "results/{study}/{stem}.md",
            caption="../report/table.rst",
            category="Tables",
            subcategory="{study}",
        ),
        tex="results/{study}/{stem}.tex",
    log:
        "logs/{study}/{stem}.log",
    conda:
        "../../environment.yml"
    params:
        out=get_output_dir,
        paper=get_paper_argument,
        code=get_report_code("table"),
    shell:
        "python -m ban table --metrics {input.metrics:q} --out {params.out:q} --stem {wildcards.stem:q} {params.paper:q} > {log:q} 2>&1"
        " && python -m ban record {output:q} >> {log:q} 2>&1"


rule plot:
    input:
        get_study_metrics,
    output:
        error=report(
            "results/{study}/plots/error_vs_generation.png",
            caption="../report/error_vs_generation.rst",
            category="Plots",
            subcategory="{study}",
        ),
        controls=report(
            "results/{study}/plots/controls.png",
            caption="../report/controls.rst",
            category="Plots",
            subcategory="{study}",
        ),
        curves=report(
            "results/{study}/plots/training_curves.png",
            caption="../report/training_curves.rst",
            category="Plots",
            subcategory="{study}",
        ),
        gains=report(
            "results/{study}/plots/gains.png",
            caption="../report/gains.rst",
            category="Plots",
            subcategory="{study}",
        ),
    log:
        "logs/{study}/plot.log",
    conda:
        "../../environment.yml"
    params:
        out=get_output_dir,
        code=get_report_code("plot"),
        margin=get_margin_argument,
    shell:
        "python -m ban plot --metrics {input:q} --out {params.out:q} {params.margin:q} > {log:q} 2>&1"
        " && python -m ban record {output:q} >> {log:q} 2>&1"


rule claims:
    input:
        get_study_metrics,
    output:
        md=report(
            "results/{study}/claims.md",
            caption="../report/claims.rst",
            category="Claims",
            subcategory="{study}",
        ),
        json=report(
            "results/{study}/claims.json",
            caption="../report/claims.rst",
            category="Claims",
            subcategory="{study}",
        ),
        scores="results/{study}/scores.csv",
    log:
        "logs/{study}/claims.log",
    conda:
        "../../environment.yml"
    params:
        out=get_output_dir,
        code=get_report_code("claims"),
        margin=get_margin_argument,
    shell:
        "python -m ban claims --metrics {input:q} --out {params.out:q} {params.margin:q} > {log:q} 2>&1"
        " && python -m ban record {output:q} >> {log:q} 2>&1"


rule regime:
    input:
        unpack(get_regime_inputs),
    output:
        csv="results/{sweep}/regime.csv",
        md=report(
            "results/{sweep}/regime.md",
            caption="../report/regime.rst",
            category="Regime maps",
            subcategory="{sweep}",
        ),
        png=report(
            "results/{sweep}/regime.png",
            caption="../report/regime.rst",
            category="Regime maps",
            subcategory="{sweep}",
        ),
    log:
        "logs/{sweep}/regime.log",
    conda:
        "../../environment.yml"
    params:
        cells=get_regime_cells,
        predictions=get_regime_predictions,
        out=get_output_dir,
        code=get_report_code("regime"),
    shell:
        "python -m ban regime --sweep {wildcards.sweep:q} --cells {params.cells:q}"
        " --predictions {params.predictions:q} --claims {input.claims:q}"
        " --metrics {input.metrics:q} --out {params.out:q} > {log:q} 2>&1"
        " && python -m ban record {output:q} >> {log:q} 2>&1"
