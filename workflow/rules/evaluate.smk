# BANE: Ens*k (ens<k>) and the control Indep*k (indep<k>) average the saved test probabilities of
# their members (ban/study.py ensemble_members); no model is re-run.


rule ensemble:
    input:
        unpack(get_ensemble_inputs),
    output:
        metrics="results/{study}/{lineage}/seed{seed}/{ensemble}/metrics.json",
    log:
        "logs/{study}/{lineage}/seed{seed}/{ensemble}.log",
    conda:
        "../../environment.yml"
    params:
        members=get_ensemble_members,
        code=get_ensemble_code,
    shell:
        "python -m ban ensemble --members {params.members:q} --name {wildcards.ensemble:q}"
        " --code {params.code:q} --out {output.metrics:q} > {log:q} 2>&1"
