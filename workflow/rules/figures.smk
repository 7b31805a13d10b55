# The figures: each dataset's, the comparison's, the claims', the inspection notebook and the
# latent space (sincvae.show.plots), each from the tables upstream.
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
        scores=lambda w: per_case(paths.CASE_SCORES, w.dataset),
        lines=lambda w: first_batch("lines.parquet", w.dataset, INSPECT_CASES),
        histories=lambda w: per_batch("history.csv", w.dataset, LEARNED_CASES),
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
        batches={c: len(PLAN.batches(c)) for c in LEARNED_CASES},
        dataset=dataset_params,
        rows=config["report"]["rows"],
    script:
        "../scripts/plot_dataset.py"


# The comparison's figures: coverage against compute, and calibration against the exact
# posterior (each method's best case's expected coverage, rank histograms, R_T against the
# budget T, accuracy against time: sincvae.show.calibration_plots).
rule plot_comparison:
    input:
        comparison=paths.COMPARISON,
        ranking=paths.RANKING,
        rows=per_case(paths.CASE_ROWS),
    output:
        **{
            name: report(path, caption=f"../report/{name}.rst", category="Calibration")
            for name, path in paths.CALIBRATION_FIGURES.items()
        },
        compute=report(
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
