# The study's cost before anything runs (sincvae.cost): `snakemake results/plan.csv`.
rule plan:
    output:
        jobs="results/plan.csv",
        summary="results/plan.json",
    log:
        "logs/plan.log",
    benchmark:
        "benchmarks/plan.tsv"
    # first, and as a computing job: it times the reference epoch, which a busy core would slow
    priority: FIRST
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


# What the planned seeds can detect, before anything trains (sincvae.power): each claim's and each
# ranking comparison's smallest detectable effect, from the variance components of a finished
# study that `python -m sincvae.power store` keeps in config/variance.csv.
rule power:
    input:
        components=workflow.source_path("../../config/variance.csv"),
    output:
        "results/power.csv",
    log:
        "logs/power.log",
    benchmark:
        "benchmarks/power.tsv"
    priority: FIRST
    conda:
        "../../envs/sincvae.yaml"
    params:
        planned=power_settings(PLAN, config),
    script:
        "../scripts/power.py"


rule compare:
    input:
        exact=expand("results/{dataset}/exact/metrics.json", dataset=DATASETS),
        metrics=per_case("results/{dataset}/{case}/metrics.json"),
        timings=per_case_seed("results/{dataset}/{case}/seed{seed}/timing.json"),
        external=[
            f"results/{spec['dataset']}/{name}/metrics.json"
            for name, spec in PLAN.external.items()
        ],
    output:
        table=report(
            "results/comparison.csv",
            caption="../report/comparison.rst",
            category="Comparison",
        ),
        seeds="results/comparison_seeds.csv",
    log:
        "logs/compare.log",
    benchmark:
        "benchmarks/compare.tsv"
    conda:
        "../../envs/sincvae.yaml"
    script:
        "../scripts/compare.py"


# Which method is best, by paired tests (config `ranking`): the methods that learn or search,
# not the references (the ideal sampler) nor samples read from a file (one seed: no test).
rule rank_methods:
    input:
        rows=per_case_seed(
            "results/{dataset}/{case}/seed{seed}/rows.parquet", cases=PLAN.contenders
        ),
    output:
        table="results/ranking.csv",
        figure=report(
            "results/figures/best.png",
            caption="../report/best.rst",
            category="Comparison",
        ),
    log:
        "logs/rank_methods.log",
    benchmark:
        "benchmarks/rank_methods.tsv"
    conda:
        "../../envs/sincvae.yaml"
    params:
        ranking=config["ranking"],
        classes=PLAN.classes,
        labels={c: label for c, label in PLAN.labels().items() if c in PLAN.contenders},
    script:
        "../scripts/rank_methods.py"


FIGURES = ["data", "loss_curves", "residuals", "samples_x", "samples_y"]


TUNING_FILES = {
    d: {
        "grid": f"results/tuning/{d}/grid.csv",
        "best": f"results/tuning/{d}/best.yaml",
        "history": f"results/tuning/{d}/history.png",
    }
    for d in (DATASETS if TUNING else [])
}


# the latent-space figure only where some inspected case has an encoder
DATASET_FIGURES = {
    d: {
        f: f"results/{d}/figures/{f}.png"
        for f in FIGURES + ["latent"] * bool(LATENT_CASES)
    }
    for d in DATASETS
}


rule plot_dataset:
    input:
        # residuals of every case pooled over seeds; loss curves of every seed (one figure per
        # case, and the first seeds' together); generated lines of the inspected cases (first
        # seed), as in the notebook
        scores=lambda w: per_case_seed(
            "results/{dataset}/{case}/seed{seed}/scores.parquet", w.dataset
        ),
        lines=lambda w: per_case(
            "results/{dataset}/{case}/seed{seed}/lines.parquet",
            w.dataset,
            INSPECT_CASES,
            seed=0,
        ),
        histories=lambda w: per_case_seed(
            "results/{dataset}/{case}/seed{seed}/history.csv", w.dataset, LEARNED_CASES
        ),
        solutions="results/{dataset}/exact/solutions.parquet",
        scoring="data/{dataset}/scoring_dataset.pt",
    output:
        data=dataset_figure("data"),
        residuals=dataset_figure("residuals"),
        lines_x=dataset_figure("samples_x"),
        lines_y=dataset_figure("samples_y"),
        losses=dataset_figure("loss_curves"),
        # here rather than in a job per case: each spent ~2 s starting for 0.7 s of drawing
        case_losses=[
            report(
                f"results/{{dataset}}/{case}/loss_curves.png",
                caption="../report/loss_curves.rst",
                category="{dataset}",
                subcategory="loss curves per case",
                labels={"case": case},
            )
            for case in LEARNED_CASES
        ],
    log:
        "logs/plot_dataset/{dataset}.log",
    benchmark:
        "benchmarks/plot_dataset/{dataset}.tsv"
    priority: FIRST
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
        "results/comparison.csv",
    output:
        report(
            "results/figures/coverage_vs_compute.png",
            caption="../report/coverage_vs_compute.rst",
            category="Comparison",
        ),
    log:
        "logs/plot_comparison.log",
    benchmark:
        "benchmarks/plot_comparison.tsv"
    conda:
        "../../envs/sincvae.yaml"
    params:
        samples=config["evaluate"]["samples"],
    script:
        "../scripts/plot_comparison.py"


# The claims' figures: the headline (every effect) and one per claim (metrics against levels).
CLAIM_FIGURES = {
    "headline": "results/figures/claims.png",
    **{f: f"results/figures/claim_{f}.png" for f in PLAN.claims},
}
VERDICTS = {"verdicts": "results/verdicts.csv"} if ABLATIONS else {}
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
        levels="results/ablation_levels.csv",
    output:
        **{
            name: report(path, caption="../report/claims.rst", category="Claims")
            for name, path in CLAIM_FIGURES.items()
        },
    log:
        "logs/plot_claims.log",
    benchmark:
        "benchmarks/plot_claims.tsv"
    priority: FIRST
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
        comparison="results/comparison.csv",
        ranking="results/ranking.csv",
    output:
        markdown="results/findings.md",
        # the same findings as data, which the report renders (computed once, here)
        data="results/findings.json",
    log:
        "logs/findings.log",
    benchmark:
        "benchmarks/findings.tsv"
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
        solutions="results/{dataset}/exact/solutions.parquet",
        splits=expand("data/{{dataset}}/{split}_dataset.pt", split=SPLITS),
    output:
        notebook="results/notebooks/{dataset}.ipynb",
        html=report(
            "results/notebooks/{dataset}.html",
            caption="../report/notebook.rst",
            category="{dataset}",
            subcategory="notebook",
        ),
    log:
        "logs/notebook/{dataset}.log",
    benchmark:
        "benchmarks/notebook/{dataset}.tsv"
    priority: FIRST
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
        validation="data/{dataset}/validation_dataset.pt",
    output:
        dataset_figure("latent"),
    log:
        "logs/plot_latent/{dataset}.log",
    benchmark:
        "benchmarks/plot_latent/{dataset}.tsv"
    priority: FIRST
    conda:
        "../../envs/sincvae.yaml"
    resources:
        cpu=cpu_slots,
    params:
        cases={c: CASES[c] for c in LATENT_CASES},
        rows=1000,
    script:
        "../scripts/plot_latent.py"


# Time and peak memory of every upstream job, for the report: the rules' benchmark paths,
# written out (rules.X.benchmark carries a storage prefix on clusters, and inputs get it again).
# generate_data is left out: asking for its benchmark would regenerate a file the user supplied.
UPSTREAM_BENCHMARKS = [
    *expand("benchmarks/validate_data/{dataset}.tsv", dataset=DATASETS),
    *expand("benchmarks/solve_exact/{dataset}.tsv", dataset=DATASETS),
    *expand("benchmarks/score_exact/{dataset}.tsv", dataset=DATASETS),
    # every run job's, in the folder of its rule family (planning.Plan.run_rule), and its score job's
    *[
        f"benchmarks/{rule}/{dataset}/{case}.tsv"
        for dataset in DATASETS
        for case in PLAN.runs
        for rule in (PLAN.run_rule(case), "score")
    ],
    *(expand("benchmarks/tune/{dataset}.tsv", dataset=DATASETS) if TUNING else []),
    *expand("benchmarks/plot_dataset/{dataset}.tsv", dataset=DATASETS),
    *expand("benchmarks/notebook/{dataset}.tsv", dataset=DATASETS),
    *(
        expand("benchmarks/plot_latent/{dataset}.tsv", dataset=DATASETS)
        if LATENT_CASES
        else []
    ),
    "benchmarks/power.tsv",
    "benchmarks/compare.tsv",
    "benchmarks/rank_methods.tsv",
    "benchmarks/plot_comparison.tsv",
    *(["benchmarks/verdicts.tsv", "benchmarks/plot_claims.tsv"] if ABLATIONS else []),
]


rule report:
    input:
        **CLAIM_INPUTS,
        benchmarks=UPSTREAM_BENCHMARKS,
        plan="results/plan.csv",
        plan_summary="results/plan.json",
        power="results/power.csv",
        findings="results/findings.json",
        comparison="results/comparison.csv",
        ranking="results/ranking.csv",
        best="results/figures/best.png",
        compute="results/figures/coverage_vs_compute.png",
        curves=per_case("results/{dataset}/{case}/loss_curves.png", cases=LEARNED_CASES),
        notebooks=NOTEBOOKS,
        tuning=[p for files in TUNING_FILES.values() for p in files.values()],
        validation=expand("results/{dataset}/data_validation.json", dataset=DATASETS),
        figures=[p for figures in DATASET_FIGURES.values() for p in figures.values()],
    output:
        "results/report.html",
    log:
        "logs/report.log",
    benchmark:
        "benchmarks/report.tsv"
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
        train=expand("data/{dataset}/train_dataset.pt", dataset=DATASETS),
        validation=expand("data/{dataset}/validation_dataset.pt", dataset=DATASETS),
    output:
        "results/benchmarks/throughput.csv",
    log:
        "logs/throughput.log",
    benchmark:
        "benchmarks/throughput.tsv"
    conda:
        "../../envs/sincvae.yaml"
    threads: config["threads"]
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
