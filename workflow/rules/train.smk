rule train:
    input:
        unpack(tuned_setting),
        train="data/{dataset}/train_dataset.pt",
        validation="data/{dataset}/validation_dataset.pt",
        checked="results/{dataset}/data_validation.json",
    output:
        # temp: 3-5 MB each; `--notemp` keeps them (README "Disk")
        models=temp(seeds_of("results/{dataset}/{case}/seed{seed}/model.pt", SEEDS)),
        histories=seeds_of("results/{dataset}/{case}/seed{seed}/history.csv", SEEDS),
    log:
        "logs/train/{dataset}/{case}.log",
    benchmark:
        "benchmarks/train/{dataset}/{case}.tsv"
    wildcard_constraints:
        case=one_of(TRAINED_CASES),
    priority: training_priority
    conda:
        "../../envs/sincvae.yaml"
    threads: config["threads"]
    resources:
        mem_mb=1500,  # measured peak 0.5 GB at 20,000 rows
        runtime=lambda w: len(CASE_SEEDS[w.case]) * train_runtime(w),
        gpu=GPUS_PER_JOB,
    params:
        case=lambda w: CASES[w.case],
        seeds=lambda w: CASE_SEEDS[w.case],
        dataset=dataset_params,
        device=config["device"],
    script:
        "../scripts/train.py"


# A grid point of the search trains with the first seed only.
use rule train as train_grid_point with:
    output:
        models=temp(seeds_of("results/{dataset}/{case}/seed{seed}/model.pt", SEEDS[:1])),
        histories=seeds_of("results/{dataset}/{case}/seed{seed}/history.csv", SEEDS[:1]),
    wildcard_constraints:
        case=one_of(c for c in GRID_CASES if CASES[c]["method"] in LEARNED),
