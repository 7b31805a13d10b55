rule solve_exact:
    input:
        scoring="data/{dataset}/scoring_dataset.pt",
        validation="data/{dataset}/validation_dataset.pt",
        checked="results/{dataset}/data_validation.json",
    output:
        solutions="results/{dataset}/exact/solutions.parquet",
        targets="results/{dataset}/exact/targets.parquet",
    log:
        log_file("solve_exact"),
    benchmark:
        benchmark_file("solve_exact")
    priority: priority_of("solve_exact")
    conda:
        "../../envs/sincvae.yaml"
    resources:
        cpu=cpu_slots,
    params:
        dataset=dataset_params,
        splits=SCORED_SPLITS,
        tolerance=config["data"]["tolerance"],
    script:
        "../scripts/solve_exact.py"


# Every exact solution of each y of the train split with its posterior weight: what a case
# with targets: solutions trains towards (data.SolutionSets).
use rule solve_exact as solve_train with:
    input:
        train="data/{dataset}/train_dataset.pt",
        checked="results/{dataset}/data_validation.json",
    output:
        solutions="results/{dataset}/exact/train_solutions.parquet",
    log:
        log_file("solve_train"),
    benchmark:
        benchmark_file("solve_train")
    priority: priority_of("solve_train")
    params:
        dataset=dataset_params,
        splits=[("train", None)],
        tolerance=config["data"]["tolerance"],


# The exact solutions as the comparison's bound, scored like a method.
rule score_exact:
    input:
        solutions="results/{dataset}/exact/solutions.parquet",
        targets="results/{dataset}/exact/targets.parquet",
    output:
        scores="results/{dataset}/exact/scores.parquet",
        metrics="results/{dataset}/exact/metrics.json",
    log:
        log_file("score_exact"),
    benchmark:
        benchmark_file("score_exact")
    priority: priority_of("score_exact")
    conda:
        "../../envs/sincvae.yaml"
    resources:
        cpu=cpu_slots,
    params:
        dataset=dataset_params,
        match_tolerance=config["evaluate"]["match_tolerance"],
    script:
        "../scripts/score_exact.py"


# Someone's generated samples (config `external`), scored as a method's raw stage.
rule score_external:
    input:
        submission=external_submission,
        solutions="results/{dataset}/exact/solutions.parquet",
        scoring="data/{dataset}/scoring_dataset.pt",
    output:
        summary="results/{dataset}/{case}/metrics.json",
        scores="results/{dataset}/{case}/scores.parquet",
        rows="results/{dataset}/{case}/rows.parquet",
    log:
        log_file("score_external"),
    benchmark:
        benchmark_file("score_external")
    wildcard_constraints:
        case=one_of(PLAN.external),
    priority: priority_of("score_external")
    conda:
        "../../envs/sincvae.yaml"
    resources:
        cpu=cpu_slots,
        mem_mb=memory_of("score_external"),
        runtime=5,
    params:
        dataset=dataset_params,
        match_tolerance=config["evaluate"]["match_tolerance"],
    script:
        "../scripts/score_external.py"


# A case target with an id that is not in the config fails while planning, listing the valid ids.
rule unknown_case:
    input:
        reject_unknown_ids,
    output:
        "results/{dataset}/{case}/metrics.json",
    wildcard_constraints:
        case=not_one_of([*CASES, *PLAN.external, "exact"]),


rule unknown_dataset:
    input:
        reject_unknown_ids,
    output:
        "results/{dataset}/{case}/metrics.json",
    wildcard_constraints:
        dataset=not_one_of(DATASETS),
        case="[^/]+",


# The original study's claims decided from the ablations (sincvae.stats): one row per claim × dataset ×
# variant × metric, and each level's mean with its interval for the figures.
rule verdicts:
    input:
        rows=per_case_seed(
            "results/{dataset}/{case}/seed{seed}/rows.parquet", cases=PLAN.ablation
        ),
    output:
        verdicts=report(
            "results/verdicts.csv",
            caption="../report/verdicts.rst",
            category="Claims",
        ),
        levels="results/ablation_levels.csv",
    log:
        log_file("verdicts"),
    benchmark:
        benchmark_file("verdicts")
    priority: priority_of("verdicts")
    conda:
        "../../envs/sincvae.yaml"
    params:
        levels=[asdict(level) for level in PLAN.levels],
        claims={factor: claim.text for factor, claim in PLAN.claims.items()},
        alpha=ABLATIONS.get("alpha"),
        primary=ABLATIONS.get("primary"),
        margins=ABLATIONS.get("margin"),
        resamples=ABLATIONS.get("resamples"),
        seed=config["data"]["seed"],
    script:
        "../scripts/verdicts.py"
