# Training rules: the teacher from labels, generation k from generation k-1, controls from gen0,
# independent networks (ind<i>) and tuning points (tune<i>) from labels like the teacher.
# One definition (rule teacher); generation and control reuse it with their own input, outputs
# and log. Each writes model.pt, predictions.npz and metrics.json into its member folder, and
# resumes from the folder's resume.pt after a kill (see docs/failures-and-resuming.md).
# A finished training is kept in the store under its identity (ban/identity.py: everything that
# decides its bytes, no names) and environment; a job whose training is kept restores it, verified
# by hash, in a second. Inputs: get_training_inputs (the identity marker, teacher, imported
# checkpoint, and the earlier member of the same training).
# The device is a runtime choice, a resource rather than a parameter: changing it reruns nothing.


rule teacher:
    input:
        unpack(get_training_inputs),
    output:
        **member_outputs("gen0"),
    log:
        "logs/{study}/{lineage}/seed{seed}/gen0.log",
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        gpu=USES_GPU,
        gpu_jobs=USES_GPU,
        mem_mb=4000,
        runtime=240,
        device=DEVICE,
    params:
        spec=get_train_spec,
        out=get_output_dir,
        teacher=get_teacher_argument,
    shell:
        "python -m ban train --spec {params.spec:q} --out {params.out:q} {params.teacher:q}"
        " --device {resources.device:q} --threads {threads} --watch-pid $PPID > {log:q} 2>&1"


use rule teacher as generation with:
    output:
        **member_outputs("gen{k}"),
    log:
        "logs/{study}/{lineage}/seed{seed}/gen{k}.log",


use rule teacher as control with:
    output:
        **member_outputs("{control}"),
    log:
        "logs/{study}/{lineage}/seed{seed}/{control}.log",


use rule teacher as independent with:
    output:
        **member_outputs("ind{i}"),
    log:
        "logs/{study}/{lineage}/seed{seed}/ind{i}.log",


use rule teacher as tuning with:
    output:
        **member_outputs("tune{t}"),
    log:
        "logs/{study}/{lineage}/seed{seed}/tune{t}.log",
