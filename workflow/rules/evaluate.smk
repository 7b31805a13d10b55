rule solve_exact:
    input:
        scoring=paths.dataset("scoring"),
        validation=paths.dataset("validation"),
        checked=paths.DATA_VALIDATION,
    output:
        solutions=paths.EXACT_SOLUTIONS,
        targets=paths.EXACT_TARGETS,
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
        train=paths.dataset("train"),
        checked=paths.DATA_VALIDATION,
    output:
        solutions=paths.TRAIN_SOLUTIONS,
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
        solutions=paths.EXACT_SOLUTIONS,
        targets=paths.EXACT_TARGETS,
    output:
        scores=paths.EXACT_SCORES,
        metrics=paths.EXACT_METRICS,
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
        seed=config["data"]["seed"],
    script:
        "../scripts/score_exact.py"


# Someone's generated samples (config `external`), scored as a method's raw stage.
rule score_external:
    input:
        submission=external_submission,
        solutions=paths.EXACT_SOLUTIONS,
        scoring=paths.dataset("scoring"),
    output:
        summary=paths.CASE_METRICS,
        scores=paths.CASE_SCORES,
        rows=paths.CASE_ROWS,
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
        seed=config["data"]["seed"],
    script:
        "../scripts/score_external.py"


# A case target with an id that is not in the config fails while planning, listing the valid ids.
rule unknown_case:
    input:
        reject_unknown_ids,
    output:
        paths.CASE_METRICS,
    wildcard_constraints:
        case=not_one_of([*CASES, *PLAN.external, "exact"]),


rule unknown_dataset:
    input:
        reject_unknown_ids,
    output:
        paths.CASE_METRICS,
    wildcard_constraints:
        dataset=not_one_of(DATASETS),
        case="[^/]+",


# The original study's claims decided from the ablations (sincvae.decide.stats): one row per claim × dataset ×
# variant × metric, and each level's mean with its interval for the figures.
rule verdicts:
    input:
        rows=per_case(paths.CASE_ROWS, cases=PLAN.ablation),
    output:
        verdicts=report(
            paths.VERDICTS,
            caption="../report/verdicts.rst",
            category="Claims",
        ),
        levels=paths.ABLATION_LEVELS,
    log:
        log_file("verdicts"),
    benchmark:
        benchmark_file("verdicts")
    priority: priority_of("verdicts")
    localrule: runs_here("verdicts")
    conda:
        "../../envs/sincvae.yaml"
    params:
        levels=[asdict(level) for level in PLAN.levels],
        claims={factor: claim.text for factor, claim in PLAN.claims.items()},
        alpha=ABLATIONS.get("alpha"),
        primary=ABLATIONS.get("primary"),
        margins=claim_margins(ABLATIONS.get("margin")),
        resamples=ABLATIONS.get("resamples"),
        seed=config["data"]["seed"],
    script:
        "../scripts/verdicts.py"
