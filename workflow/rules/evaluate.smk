rule evaluate:
    input:
        unpack(method_inputs),
        solutions="results/{dataset}/exact/solutions.parquet",
        scoring="data/{dataset}/scoring_dataset.pt",
        validation="data/{dataset}/validation_dataset.pt",
    output:
        samples="results/{dataset}/{case}/seed{seed}/samples.parquet",
        scores="results/{dataset}/{case}/seed{seed}/scores.parquet",
        rows="results/{dataset}/{case}/seed{seed}/rows.parquet",
        metrics="results/{dataset}/{case}/seed{seed}/metrics.json",
        timing="results/{dataset}/{case}/seed{seed}/timing.json",
    log:
        "logs/evaluate/{dataset}/{case}/seed{seed}.log",
    benchmark:
        "benchmarks/evaluate/{dataset}/{case}/seed{seed}.tsv"
    wildcard_constraints:
        case=one_of(EVALUATED_CASES),
    conda:
        "../../envs/sincvae.yaml"
    threads: config["threads"]
    resources:
        mem_mb=2500,  # measured peak 1.0 GB with refinement (default config)
        runtime=10,
        gpu=GPUS_PER_JOB,
    params:
        case=case_params,
        dataset=dataset_params,
        device=config["device"],
        evaluate=config["evaluate"],
    script:
        "../scripts/evaluate.py"


rule aggregate_seeds:
    input:
        unpack(tuned_setting),
        metrics=per_seed("results/{dataset}/{case}/seed{seed}/metrics.json"),
        histories=per_seed(
            "results/{dataset}/{case}/seed{seed}/history.csv", learned_only=True
        ),
    output:
        metrics="results/{dataset}/{case}/metrics.json",
    log:
        "logs/aggregate_seeds/{dataset}/{case}.log",
    benchmark:
        "benchmarks/aggregate_seeds/{dataset}/{case}.tsv"
    conda:
        "../../envs/sincvae.yaml"
    params:
        case=lambda w: CASES[w.case],
        seeds=lambda w: CASE_SEEDS[w.case],
    script:
        "../scripts/aggregate_seeds.py"


rule loss_curves:
    input:
        histories=per_seed("results/{dataset}/{case}/seed{seed}/history.csv"),
    output:
        report(
            "results/{dataset}/{case}/loss_curves.png",
            caption="../report/loss_curves.rst",
            category="{dataset}",
            subcategory="loss curves per case",
            labels={"case": "{case}"},
        ),
    log:
        "logs/loss_curves/{dataset}/{case}.log",
    benchmark:
        "benchmarks/loss_curves/{dataset}/{case}.tsv"
    wildcard_constraints:
        case=one_of(LEARNED_CASES),
    conda:
        "../../envs/sincvae.yaml"
    params:
        seeds=SEEDS,
    script:
        "../scripts/loss_curves.py"


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


# A case target with an id that is not in the config fails while planning, listing the valid ids.
rule unknown_case:
    input:
        reject_unknown_ids,
    output:
        "results/{dataset}/{case}/metrics.json",
    wildcard_constraints:
        case=not_one_of([*CASES, "exact"]),


rule unknown_dataset:
    input:
        reject_unknown_ids,
    output:
        "results/{dataset}/{case}/metrics.json",
    wildcard_constraints:
        dataset=not_one_of(DATASETS),
        case="[^/]+",


# The seed's claims decided from the ablations (sincvae.stats): one row per claim × dataset ×
# variant × metric, and each level's mean with its interval for the figures.
rule verdicts:
    input:
        rows=per_case(
            "results/{dataset}/{case}/seed{seed}/rows.parquet",
            cases=ABLATION_CASES,
            seed=ABLATION_SEEDS,
        ),
    output:
        verdicts=report(
            "results/verdicts.csv",
            caption="../report/verdicts.rst",
            category="Claims",
        ),
        levels="results/ablation_levels.csv",
    log:
        "logs/verdicts.log",
    benchmark:
        "benchmarks/verdicts.tsv"
    conda:
        "../../envs/sincvae.yaml"
    params:
        levels=[asdict(level) for level in PLAN.levels],
        claims={factor: claim.text for factor, claim in PLAN.claims.items()},
        alpha=ABLATIONS.get("alpha"),
    script:
        "../scripts/verdicts.py"
