# Tables (pandas) and plots (matplotlib) of a study's metrics.


rule table:
    input:
        study_metrics,
    output:
        csv="results/{study}/table.csv",
        md=report("results/{study}/table.md", caption="../report/table.rst", category="Tables"),
        tex="results/{study}/table.tex",
    params:
        out=lambda w, output: os.path.dirname(output.md),
        paper=paper_argument,
        code=TABLE_CODE,
    log:
        "logs/{study}/table.log",
    conda:
        "../../environment.yml"
    shell:
        "python -m ban table --metrics {input} --out {params.out:q} {params.paper} > {log:q} 2>&1"


rule plot:
    input:
        study_metrics,
    output:
        error=report(
            "results/{study}/plots/error_vs_generation.png",
            caption="../report/error_vs_generation.rst",
            category="Plots",
        ),
        controls=report(
            "results/{study}/plots/controls.png",
            caption="../report/controls.rst",
            category="Plots",
        ),
        curves=report(
            "results/{study}/plots/training_curves.png",
            caption="../report/training_curves.rst",
            category="Plots",
        ),
    params:
        out=lambda w, output: os.path.dirname(output.error),
        code=PLOT_CODE,
    log:
        "logs/{study}/plot.log",
    conda:
        "../../environment.yml"
    shell:
        "python -m ban plot --metrics {input} --out {params.out:q} > {log:q} 2>&1"
