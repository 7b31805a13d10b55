# A dataset file that is present (the user's own) is kept and validated; an absent one is generated.
# Every chain starts from the data: its jobs come first (FIRST, common.smk).


rule generate_data:
    output:
        "data/{dataset}/{split}_dataset.pt",
    log:
        "logs/generate_data/{dataset}/{split}.log",
    benchmark:
        "benchmarks/generate_data/{dataset}/{split}.tsv"
    priority: FIRST
    conda:
        "../../envs/sincvae.yaml"
    resources:
        cpu=cpu_slots,
    params:
        dataset=dataset_params,
        rows=lambda w: config["data"]["rows"][w.split],
        seed=config["data"]["seed"],
    script:
        "../scripts/generate_data.py"


rule validate_data:
    input:
        expand("data/{{dataset}}/{split}_dataset.pt", split=SPLITS),
    output:
        "results/{dataset}/data_validation.json",
    log:
        "logs/validate_data/{dataset}.log",
    benchmark:
        "benchmarks/validate_data/{dataset}.tsv"
    priority: FIRST
    conda:
        "../../envs/sincvae.yaml"
    resources:
        cpu=cpu_slots,
    params:
        dataset=dataset_params,
        splits=SPLITS,
        tolerance=config["data"]["tolerance"],
    script:
        "../scripts/validate_data.py"
