# BANE: Ens*k averages the saved test probabilities of its members; no model is re-run.


rule ensemble:
    input:
        unpack(ensemble_inputs),
    output:
        metrics="results/{study}/{lineage}/seed{seed}/ens{k}/metrics.json",
    params:
        members=lambda w, input: " ".join(os.path.dirname(p) for p in input.predictions),
        code=ENSEMBLE_CODE,
    log:
        "logs/{study}/{lineage}/seed{seed}/ens{k}.log",
    conda:
        "../../environment.yml"
    shell:
        "python -m ban ensemble --members {params.members} --name ens{wildcards.k}"
        " --out {output.metrics:q} > {log:q} 2>&1"
