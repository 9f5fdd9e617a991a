# Training rules: the teacher from labels, generation k from generation k-1, controls from gen0.
# Each writes model.pt, predictions.npz and metrics.json into its member folder, and resumes from
# the folder's resume.pt after a kill (see README "Failures and resuming").

rule teacher:
    input:
        unpack(imported_teacher),
    output:
        **outputs_for("gen0"),
    params:
        spec=train_spec(lambda w: "gen0"),
        out=lambda w, output: os.path.dirname(output.model),
        device=DEVICE,
        teacher="",
    log:
        "logs/{study}/{lineage}/seed{seed}/gen0.log",
    threads: 1
    resources:
        gpu=USES_GPU,
        gpu_jobs=USES_GPU,
        mem_mb=4000,
        runtime=240,
    conda:
        "../../environment.yml"
    shell:
        TRAIN_SHELL


rule generation:
    input:
        teacher=teacher_model(lambda w: f"gen{w.k}"),
    output:
        **outputs_for("gen{k}"),
    params:
        spec=train_spec(lambda w: f"gen{w.k}"),
        out=lambda w, output: os.path.dirname(output.model),
        device=DEVICE,
        teacher=lambda w, input: f"--teacher {input.teacher}",
    log:
        "logs/{study}/{lineage}/seed{seed}/gen{k}.log",
    threads: 1
    resources:
        gpu=USES_GPU,
        gpu_jobs=USES_GPU,
        mem_mb=4000,
        runtime=240,
    conda:
        "../../environment.yml"
    shell:
        TRAIN_SHELL


rule control:
    input:
        teacher=teacher_model(lambda w: w.control),
    output:
        **outputs_for("{control}"),
    params:
        spec=train_spec(lambda w: w.control),
        out=lambda w, output: os.path.dirname(output.model),
        device=DEVICE,
        teacher=lambda w, input: f"--teacher {input.teacher}",
    log:
        "logs/{study}/{lineage}/seed{seed}/{control}.log",
    threads: 1
    resources:
        gpu=USES_GPU,
        gpu_jobs=USES_GPU,
        mem_mb=4000,
        runtime=240,
    conda:
        "../../environment.yml"
    shell:
        TRAIN_SHELL
