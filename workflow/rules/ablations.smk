# The controlled experiments on the original study's claims (config `ablations`; README "Claims").


# One job per level: trains every seed, draws its raw lines for the scoring split and scores
# them into the level's target, its metrics.json.
use rule train as ablation with:
    output:
        **scored_outputs(ABLATION_SEEDS),
        histories=seeds_of(
            "results/{dataset}/{case}/seed{seed}/history.csv", ABLATION_SEEDS
        ),
        summary="results/{dataset}/{case}/metrics.json",
    log:
        "logs/ablation/{dataset}/{case}.log",
    benchmark:
        "benchmarks/ablation/{dataset}/{case}.tsv"
    wildcard_constraints:
        case=one_of(c for c in ABLATION_CASES if c not in CONTINUED_CASES),
    resources:
        cpu=cpu_slots,
        mem_mb=1500,  # measured peak 0.5 GB at 20,000 rows
        runtime=lambda w: job_minutes(w.case),
        gpu=GPUS_PER_JOB,


# A level that a longer epochs level continues also keeps each seed's full training state
# (weights, optimiser, random streams) until that level has started from it.
use rule ablation as ablation_continued with:
    output:
        **scored_outputs(ABLATION_SEEDS),
        histories=seeds_of(
            "results/{dataset}/{case}/seed{seed}/history.csv", ABLATION_SEEDS
        ),
        summary="results/{dataset}/{case}/metrics.json",
        states=temp(
            seeds_of("results/{dataset}/{case}/seed{seed}/state.pt", ABLATION_SEEDS)
        ),
    log:
        "logs/ablation_continued/{dataset}/{case}.log",
    benchmark:
        "benchmarks/ablation_continued/{dataset}/{case}.tsv"
    wildcard_constraints:
        case=one_of(CONTINUED_CASES),
