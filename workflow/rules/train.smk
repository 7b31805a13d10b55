# A case's job (planning.Run, one library function: evaluate.run_seeds): every seed trained,
# then its lines generated, raw and refined, on the scored rows of each split, and scored
# against the exact solutions; its metrics.json summarises the seeds.
rule train:
    input:
        unpack(run_inputs),
        solutions="results/{dataset}/exact/solutions.parquet",
        checked="results/{dataset}/data_validation.json",
    output:
        **scored_outputs(SEEDS),
        # temp: 3-5 MB each, read by the notebooks and latent figures; `--notemp` keeps them (README "Disk")
        models=temp(seeds_of("results/{dataset}/{case}/seed{seed}/model.pt", SEEDS)),
        histories=seeds_of("results/{dataset}/{case}/seed{seed}/history.csv", SEEDS),
        summary="results/{dataset}/{case}/metrics.json",
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
        cpu=cpu_slots,
        mem_mb=2500,  # measured peak 1.0 GB with refinement (default config)
        runtime=lambda w: job_minutes(w.case),
        gpu=GPUS_PER_JOB,
    params:
        run=lambda w: asdict(PLAN.runs[w.case]),
        dataset=dataset_params,
        device=config["device"],
        match_tolerance=config["evaluate"]["match_tolerance"],
        tolerance=enumerator_tolerance,
    script:
        "../scripts/run.py"


# A grid point of the search: the first seed, raw lines on the validation rows.
use rule train as train_grid_point with:
    output:
        **scored_outputs(SEEDS[:1]),
        models=temp(seeds_of("results/{dataset}/{case}/seed{seed}/model.pt", SEEDS[:1])),
        histories=seeds_of("results/{dataset}/{case}/seed{seed}/history.csv", SEEDS[:1]),
    log:
        "logs/train_grid_point/{dataset}/{case}.log",
    benchmark:
        "benchmarks/train_grid_point/{dataset}/{case}.tsv"
    wildcard_constraints:
        case=one_of(GRID_CASES),


# A method that learns nothing (nearest neighbours, prior lines, the posterior): its lines alone.
use rule train as generate with:
    output:
        **scored_outputs(SEEDS),
        summary="results/{dataset}/{case}/metrics.json",
    log:
        "logs/generate/{dataset}/{case}.log",
    benchmark:
        "benchmarks/generate/{dataset}/{case}.tsv"
    wildcard_constraints:
        case=one_of(c for c in CASE_IDS if CASES[c]["method"] not in LEARNED),
    priority: FIRST
