# Hyperparameter search on the validation split (config `tuning`; README "Hyperparameter search").
# What the search's jobs read of `tuning`: the grid has jobs of its own.
SEARCH = {k: v for k, v in (TUNING or {}).items() if k != "grid"}


rule grid:
    input:
        metrics=lambda w: per_case(paths.SEED_METRICS, w.dataset, PLAN.grid_jobs),
    output:
        report(
            paths.GRID,
            caption="../report/grid.rst",
            category="Hyperparameter search",
            subcategory="{dataset}",
        ),
    log:
        log_file("grid"),
    benchmark:
        benchmark_file("grid")
    priority: priority_of("grid")
    localrule: runs_here("grid")
    conda:
        "../../envs/sincvae.yaml"
    params:
        points=list(PLAN.grid.values()),
    script:
        "../scripts/grid.py"


# The study's journal (paths.STUDY_JOURNAL) keeps its finished trials: a rerun goes on from them.
rule tune:
    input:
        train=paths.dataset("train"),
        validation=paths.dataset("validation"),
        checked=paths.DATA_VALIDATION,
    output:
        paths.SEARCH,
    log:
        log_file("tune"),
    benchmark:
        benchmark_file("tune")
    priority: priority_of("tune")
    conda:
        "../../envs/sincvae.yaml"
    threads: threads_of("tune")
    resources:
        cpu=cpu_slots,
        mem_mb=memory_of("tune"),
        runtime=time_limit("tune"),
        gpu=GPUS_PER_JOB,
    params:
        run=asdict(PLAN.search) if PLAN.search else None,  # a trial: the base case, its settings
        search=SEARCH,
        dataset=dataset_params,
        device=config["device"],
        journal=lambda w: paths.fill(paths.STUDY_JOURNAL, dataset=w.dataset),
        tolerance=config["data"]["tolerance"],
    script:
        "../scripts/tune.py"


rule best_setting:
    input:
        search=paths.SEARCH,
    output:
        best=paths.BEST_SETTING,
        trials=paths.TRIALS,
        history=report(
            paths.SEARCH_HISTORY,
            caption="../report/tuning_history.rst",
            category="Hyperparameter search",
            subcategory="{dataset}",
        ),
    log:
        log_file("best_setting"),
    benchmark:
        benchmark_file("best_setting")
    priority: priority_of("best_setting")
    localrule: runs_here("best_setting")
    conda:
        "../../envs/sincvae.yaml"
    params:
        search=SEARCH,
        journal=lambda w: paths.fill(paths.STUDY_JOURNAL, dataset=w.dataset),
        # the original study's claims, whose ranges best.yaml says the setting is in
        ablations={"factors": (ABLATIONS or {}).get("factors", {})},
    script:
        "../scripts/best_setting.py"
