# A dataset file that is present (the user's own) is kept and validated; an absent one is generated.
# Every chain starts from the data: its jobs come first (sincvae.plan.jobs.FIRST).


rule generate_data:
    output:
        paths.DATASET,
    log:
        log_file("generate_data"),
    benchmark:
        benchmark_file("generate_data")
    priority: priority_of("generate_data")
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
        expand(paths.DATASET, split=SPLITS, allow_missing=True),
    output:
        paths.DATA_VALIDATION,
    log:
        log_file("validate_data"),
    benchmark:
        benchmark_file("validate_data")
    priority: priority_of("validate_data")
    conda:
        "../../envs/sincvae.yaml"
    resources:
        cpu=cpu_slots,
    params:
        dataset=dataset_params,
        splits=list(SPLITS),
        tolerance=config["data"]["tolerance"],
    script:
        "../scripts/validate_data.py"
