NOTEBOOKS = expand(paths.NOTEBOOK_HTML, dataset=DATASETS)


# The study's cost before anything runs (sincvae.plan.cost): `snakemake results/plan.csv`.
rule plan:
    output:
        jobs=paths.PLAN,
        summary=paths.PLAN_SUMMARY,
    log:
        log_file("plan"),
    benchmark:
        benchmark_file("plan")
    # first, and as a computing job: it times the reference epoch, which a busy core would slow
    priority: priority_of("plan")
    localrule: runs_here("plan")
    conda:
        "../../envs/sincvae.yaml"
    resources:
        cpu=cpu_slots,
    params:
        jobs=JOBS,
        schedule=lambda w: planned_schedule(computing_cores()).summary(),
        rates_from=COSTS.cpu,
    script:
        "../scripts/plan.py"


# What the planned seeds can detect, before anything trains (sincvae.decide.power): each claim's and each
# ranking comparison's smallest detectable effect, from the variance components of a finished
# study that `python -m sincvae.decide.power store` keeps in config/variance.csv.
rule power:
    input:
        components=workflow.source_path("../../config/variance.csv"),
    output:
        paths.POWER,
    log:
        log_file("power"),
    benchmark:
        benchmark_file("power")
    priority: priority_of("power")
    localrule: runs_here("power")
    conda:
        "../../envs/sincvae.yaml"
    params:
        planned=power_settings(PLAN, config),
    script:
        "../scripts/power.py"


rule compare:
    input:
        exact=expand(paths.EXACT_METRICS, dataset=DATASETS),
        metrics=per_case(paths.CASE_METRICS),
        timings=per_batch("timing.json"),
        external=[
            paths.fill(paths.CASE_METRICS, dataset=spec["dataset"], case=name)
            for name, spec in PLAN.external.items()
        ],
    output:
        table=report(
            paths.COMPARISON,
            caption="../report/comparison.rst",
            category="Comparison",
        ),
        seeds=paths.COMPARISON_SEEDS,
    log:
        log_file("compare"),
    benchmark:
        benchmark_file("compare")
    priority: priority_of("compare")
    localrule: runs_here("compare")
    conda:
        "../../envs/sincvae.yaml"
    script:
        "../scripts/compare.py"


# Which method is best, by paired tests (config `ranking`): the methods that learn or search,
# not the references (the ideal sampler) nor samples read from a file (one seed: no test).
rule rank_methods:
    input:
        rows=per_case(paths.CASE_ROWS, cases=PLAN.contenders),
    output:
        table=paths.RANKING,
        figure=report(
            paths.BEST_FIGURE,
            caption="../report/best.rst",
            category="Comparison",
        ),
        cases_figure=report(
            paths.BEST_CASES_FIGURE,
            caption="../report/best_cases.rst",
            category="Comparison",
        ),
    log:
        log_file("rank_methods"),
    benchmark:
        benchmark_file("rank_methods")
    priority: priority_of("rank_methods")
    localrule: runs_here("rank_methods")
    conda:
        "../../envs/sincvae.yaml"
    params:
        ranking=config["ranking"],
        classes=PLAN.classes,
        labels={c: label for c, label in PLAN.labels().items() if c in PLAN.contenders},
        methods={c: PLAN.runs[c].case["method"] for c in PLAN.contenders},
    script:
        "../scripts/rank_methods.py"


rule findings:
    input:
        **VERDICTS,
        comparison=paths.COMPARISON,
        ranking=paths.RANKING,
    output:
        markdown=paths.FINDINGS,
        # the same findings as data, which the report renders (computed once, here)
        data=paths.FINDINGS_DATA,
    log:
        log_file("findings"),
    benchmark:
        benchmark_file("findings")
    priority: priority_of("findings")
    localrule: runs_here("findings")
    conda:
        "../../envs/sincvae.yaml"
    params:
        config=config,
        source=workflow.basedir,
    script:
        "../scripts/findings.py"


# Time and peak memory of every upstream job, for the report: each job's benchmark, from the table
# of jobs (sincvae.plan.jobs). generate_data is left out: asking for its benchmark would regenerate a
# file the user supplied.
UPSTREAM_BENCHMARKS = [
    job["benchmark"] for job in JOBS if job["rule"] not in ("generate_data", "report")
]


rule report:
    input:
        **CLAIM_INPUTS,
        benchmarks=UPSTREAM_BENCHMARKS,
        plan=paths.PLAN,
        plan_summary=paths.PLAN_SUMMARY,
        power=paths.POWER,
        findings=paths.FINDINGS_DATA,
        comparison=paths.COMPARISON,
        ranking=paths.RANKING,
        best=paths.BEST_FIGURE,
        best_cases=paths.BEST_CASES_FIGURE,
        compute=paths.COMPUTE_FIGURE,
        calibration=list(paths.CALIBRATION_FIGURES.values()),
        curves=per_case(paths.CASE_LOSS_CURVES, cases=LEARNED_CASES),
        notebooks=NOTEBOOKS,
        tuning=[p for files in TUNING_FILES.values() for p in files.values()],
        validation=expand(paths.DATA_VALIDATION, dataset=DATASETS),
        figures=[p for figures in DATASET_FIGURES.values() for p in figures.values()],
    output:
        paths.REPORT,
    log:
        log_file("report"),
    benchmark:
        benchmark_file("report")
    priority: priority_of("report")
    localrule: runs_here("report")
    conda:
        "../../envs/sincvae.yaml"
    params:
        datasets=config["datasets"],
        figures=DATASET_FIGURES,
        notebooks=NOTEBOOKS,
        tuning=TUNING_FILES,
        config=config,
        source=workflow.basedir,
    script:
        "../scripts/report.py"


rule throughput:
    input:
        train=expand(paths.dataset("train"), dataset=DATASETS),
        validation=expand(paths.dataset("validation"), dataset=DATASETS),
    output:
        paths.THROUGHPUT,
    log:
        log_file("throughput"),
    benchmark:
        benchmark_file("throughput")
    priority: priority_of("throughput")
    conda:
        "../../envs/sincvae.yaml"
    threads: threads_of("throughput")
    resources:
        cpu=cpu_slots,
        gpu=GPUS_PER_JOB,
    params:
        case=CASES[config["reference_case"]],
        datasets=DATASETS,
        dataset_specs=config["datasets"],
        device=config["device"],
        steps=50,
        exact_rows=500,
        tolerance=config["data"]["tolerance"],
    script:
        "../scripts/throughput.py"
