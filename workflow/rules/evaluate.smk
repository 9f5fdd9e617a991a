# BANE: Ens*k averages the saved test probabilities of its members; no model is re-run.


rule ensemble:
    input:
        unpack(get_ensemble_inputs),
    output:
        metrics="results/{study}/{lineage}/seed{seed}/ens{k}/metrics.json",
    log:
        "logs/{study}/{lineage}/seed{seed}/ens{k}.log",
    conda:
        "../../environment.yml"
    params:
        members=get_ensemble_members,
        code=get_ensemble_code,
    shell:
        "python -m ban ensemble --members {params.members} --name ens{wildcards.k}"
        " --code {params.code} --out {output.metrics:q} > {log:q} 2>&1"
