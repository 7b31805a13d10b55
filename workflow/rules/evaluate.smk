rule evaluate:
    input:
        model="results/{dataset}/{case}/model.pt",
        solutions="results/{dataset}/exact/solutions.parquet",
        scoring="data/{dataset}/scoring_dataset.pt",
        validation="data/{dataset}/validation_dataset.pt",
    output:
        samples="results/{dataset}/{case}/samples.parquet",
        scores="results/{dataset}/{case}/scores.parquet",
        metrics="results/{dataset}/{case}/metrics.json",
    log:
        "logs/evaluate/{dataset}/{case}.log",
    benchmark:
        "benchmarks/evaluate/{dataset}/{case}.tsv"
    conda:
        "../../envs/sincvae.yaml"
    threads: config["threads"]
    resources:
        mem_mb=1500,  # measured peak 0.5 GB
        runtime=10,
        gpu=GPUS_PER_JOB,
    params:
        case=case_params,
        dataset=dataset_params,
        device=config["device"],
        evaluate=config["evaluate"],
    script:
        "../scripts/evaluate.py"


rule solve_exact:
    input:
        scoring="data/{dataset}/scoring_dataset.pt",
        validation="data/{dataset}/validation_dataset.pt",
        checked="results/{dataset}/data_validation.json",
    output:
        solutions="results/{dataset}/exact/solutions.parquet",
        scores="results/{dataset}/exact/scores.parquet",
        metrics="results/{dataset}/exact/metrics.json",
    log:
        "logs/solve_exact/{dataset}.log",
    benchmark:
        "benchmarks/solve_exact/{dataset}.tsv"
    conda:
        "../../envs/sincvae.yaml"
    params:
        dataset=dataset_params,
        evaluate=config["evaluate"],
        tolerance=config["data"]["tolerance"],
    script:
        "../scripts/solve_exact.py"
