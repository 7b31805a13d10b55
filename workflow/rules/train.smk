rule train:
    input:
        unpack(tuned_setting),
        train="data/{dataset}/train_dataset.pt",
        validation="data/{dataset}/validation_dataset.pt",
        checked="results/{dataset}/data_validation.json",
    output:
        # temp: 3-5 MB each; `--notemp` keeps them (README "Disk")
        model=temp("results/{dataset}/{case}/seed{seed}/model.pt"),
        history="results/{dataset}/{case}/seed{seed}/history.csv",
    log:
        "logs/train/{dataset}/{case}/seed{seed}.log",
    benchmark:
        "benchmarks/train/{dataset}/{case}/seed{seed}.tsv"
    wildcard_constraints:
        case=one_of(TRAINED_CASES),
    conda:
        "../../envs/sincvae.yaml"
    threads: config["threads"]
    resources:
        mem_mb=1500,  # measured peak 0.5 GB at 20,000 rows
        runtime=train_runtime,
        gpu=GPUS_PER_JOB,
    params:
        case=case_params,
        dataset=dataset_params,
        device=config["device"],
    script:
        "../scripts/train.py"
