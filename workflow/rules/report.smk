# Tables (pandas) and plots (matplotlib) of a study's metrics. One table job per stem: the
# study's task names its tables (ban.tasks), and table_paper is added for a study with paper numbers.


rule table:
    input:
        get_study_metrics,
    output:
        csv="results/{study}/{stem}.csv",
        md=report("results/{study}/{stem}.md", caption="../report/table.rst", category="Tables"),
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
        "python -m ban table --metrics {input} --out {params.out:q} --stem {wildcards.stem} {params.paper} > {log:q} 2>&1"


rule plot:
    input:
        get_study_metrics,
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
    log:
        "logs/{study}/plot.log",
    conda:
        "../../environment.yml"
    params:
        out=get_output_dir,
        code=get_report_code("plot"),
    shell:
        "python -m ban plot --metrics {input} --out {params.out:q} > {log:q} 2>&1"
