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
        cores=lambda w: computing_cores(),
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
        timings=per_case_seed(paths.seed_file("timing.json")),
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
        rows=per_case_seed(paths.seed_file("rows.parquet"), cases=PLAN.contenders),
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


FIGURES = ["data", "loss_curves", "residuals", "samples_x", "samples_y"]


TUNING_FILES = {
    d: {
        "grid": paths.fill(paths.GRID, dataset=d),
        "best": paths.fill(paths.BEST_SETTING, dataset=d),
        "history": paths.fill(paths.SEARCH_HISTORY, dataset=d),
    }
    for d in (DATASETS if TUNING else [])
}


# the latent-space figure only where some inspected case has an encoder
DATASET_FIGURES = {
    d: {
        f: paths.fill(paths.DATASET_FIGURE, dataset=d, name=f)
        for f in FIGURES + ["latent"] * bool(LATENT_CASES)
    }
    for d in DATASETS
}


rule plot_dataset:
    input:
        # residuals of every case pooled over seeds; loss curves of every seed (one figure per
        # case, and the first seeds' together); generated lines of the inspected cases (first
        # seed), as in the notebook
        scores=lambda w: per_case_seed(paths.seed_file("scores.parquet"), w.dataset),
        lines=lambda w: per_case(
            paths.seed_file("lines.parquet", 0), w.dataset, INSPECT_CASES
        ),
        histories=lambda w: per_case_seed(
            paths.seed_file("history.csv"), w.dataset, LEARNED_CASES
        ),
        solutions=paths.EXACT_SOLUTIONS,
        scoring=paths.dataset("scoring"),
    output:
        data=dataset_figure("data"),
        residuals=dataset_figure("residuals"),
        lines_x=dataset_figure("samples_x"),
        lines_y=dataset_figure("samples_y"),
        losses=dataset_figure("loss_curves"),
        # here rather than in a job per case: each spent ~2 s starting for 0.7 s of drawing
        case_losses=[
            report(
                paths.fill(paths.CASE_LOSS_CURVES, case=case),
                caption="../report/loss_curves.rst",
                category="{dataset}",
                subcategory="loss curves per case",
                labels={"case": case},
            )
            for case in LEARNED_CASES
        ],
    log:
        log_file("plot_dataset"),
    benchmark:
        benchmark_file("plot_dataset")
    priority: priority_of("plot_dataset")
    conda:
        "../../envs/sincvae.yaml"
    resources:
        cpu=cpu_slots,
    params:
        cases=CASE_IDS,
        learned_cases=LEARNED_CASES,
        inspect_cases=INSPECT_CASES,
        seeds={c: PLAN.seeds[c] for c in CASE_IDS},
        dataset=dataset_params,
        rows=config["report"]["rows"],
    script:
        "../scripts/plot_dataset.py"


rule plot_comparison:
    input:
        paths.COMPARISON,
    output:
        report(
            paths.COMPUTE_FIGURE,
            caption="../report/coverage_vs_compute.rst",
            category="Comparison",
        ),
    log:
        log_file("plot_comparison"),
    benchmark:
        benchmark_file("plot_comparison")
    priority: priority_of("plot_comparison")
    localrule: runs_here("plot_comparison")
    conda:
        "../../envs/sincvae.yaml"
    params:
        samples=config["evaluate"]["samples"],
    script:
        "../scripts/plot_comparison.py"


# The claims' figures: the headline (every effect) and one per claim (metrics against levels).
CLAIM_FIGURES = {
    "headline": paths.CLAIMS_FIGURE,
    **{f: paths.fill(paths.CLAIM_FIGURE, factor=f) for f in PLAN.claims},
}
VERDICTS = {"verdicts": paths.VERDICTS} if ABLATIONS else {}
CLAIM_INPUTS = (
    {
        **VERDICTS,
        "headline": CLAIM_FIGURES["headline"],
        "claim_figures": [CLAIM_FIGURES[f] for f in PLAN.claims],
    }
    if ABLATIONS
    else {}
)


rule plot_claims:
    input:
        **VERDICTS,
        levels=paths.ABLATION_LEVELS,
    output:
        **{
            name: report(path, caption="../report/claims.rst", category="Claims")
            for name, path in CLAIM_FIGURES.items()
        },
    log:
        log_file("plot_claims"),
    benchmark:
        benchmark_file("plot_claims")
    priority: priority_of("plot_claims")
    localrule: runs_here("plot_claims")
    conda:
        "../../envs/sincvae.yaml"
    params:
        claims={f: claim.text for f, claim in PLAN.claims.items()},
        inside={
            f: {str(lv.level): lv.in_claim for lv in PLAN.levels if lv.factor == f}
            for f in PLAN.claims
        },
    script:
        "../scripts/plot_claims.py"


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


rule notebook:
    input:
        notebook=workflow.source_path("../notebooks/inspect_cases.ipynb"),
        models=first_seed_models(INSPECT_CASES),
        solutions=paths.EXACT_SOLUTIONS,
        splits=expand(paths.DATASET, split=SPLITS, allow_missing=True),
    output:
        notebook=paths.NOTEBOOK,
        html=report(
            paths.NOTEBOOK_HTML,
            caption="../report/notebook.rst",
            category="{dataset}",
            subcategory="notebook",
        ),
    log:
        log_file("notebook"),
    benchmark:
        benchmark_file("notebook")
    priority: priority_of("notebook")
    conda:
        "../../envs/sincvae.yaml"
    resources:
        cpu=cpu_slots,
    params:
        parameters=lambda w: {
            "dataset": w.dataset,
            "cases": INSPECT_CASES,
            "seed": 0,
            "rows": config["report"]["rows"],
            "samples": config["evaluate"]["samples"],
            "config": notebook_config(config, w.dataset),
        },
    script:
        "../scripts/run_notebook.py"


rule plot_latent:
    input:
        models=first_seed_models(LATENT_CASES),
        validation=paths.dataset("validation"),
    output:
        dataset_figure("latent"),
    log:
        log_file("plot_latent"),
    benchmark:
        benchmark_file("plot_latent")
    priority: priority_of("plot_latent")
    conda:
        "../../envs/sincvae.yaml"
    resources:
        cpu=cpu_slots,
    params:
        cases={c: CASES[c] for c in LATENT_CASES},
        rows=1000,
    script:
        "../scripts/plot_latent.py"


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
