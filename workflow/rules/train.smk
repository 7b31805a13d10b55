# Every case's jobs. Its run jobs (planning.Run, one library function: evaluate.run_seeds), one
# per batch of its seeds (seeds0-7; Plan.batches: one batch unless the plan splits a costly case,
# sincvae.plan.schedule): each seed trained if its method learns, then its lines generated (raw,
# and refined for the comparison) on the scored rows of each split; a seed's lines do not depend
# on its batch. Its score job: every batch's lines scored against the exact solutions, and its
# metrics.json over the seeds; a scoring setting reruns only this. The run rules, one per family
# of cases (Plan.run_rule): `train` (the comparison's cases that learn), `train_grid_point` (the
# search's grid, first seed, validation rows), `generate` (methods that learn nothing),
# `ablation` (a level of a claim's sweep) and `ablation_continued` (a level that a longer epochs
# level resumes, which keeps each seed's full training state).


rule train:
    input:
        unpack(get_run_inputs),
        checked=paths.DATA_VALIDATION,
    output:
        **get_run_outputs("train"),
    log:
        log_file("train"),
    benchmark:
        benchmark_file("train")
    wildcard_constraints:
        case=cases_of("train"),
    priority: priority_of("train")
    conda:
        "../../envs/sincvae.yaml"
    threads: threads_of("train")
    resources:
        cpu=cpu_slots,
        mem_mb=memory_of("train"),
        runtime=time_limit("train"),
        gpu=GPUS_PER_JOB,
    params:
        run=lambda w: asdict(PLAN.batch_run(w.case, w.seeds)),
        dataset=dataset_params,
        device=config["device"],
        tolerance=enumerator_tolerance,
    script:
        "../scripts/run.py"


use rule train as train_grid_point with:
    output:
        **get_run_outputs("train_grid_point"),
    log:
        log_file("train_grid_point"),
    benchmark:
        benchmark_file("train_grid_point")
    wildcard_constraints:
        case=cases_of("train_grid_point"),
    priority: priority_of("train_grid_point")
    threads: threads_of("train_grid_point")
    resources:
        cpu=cpu_slots,
        mem_mb=memory_of("train_grid_point"),
        runtime=time_limit("train_grid_point"),
        gpu=GPUS_PER_JOB,


use rule train as generate with:
    output:
        **get_run_outputs("generate"),
    log:
        log_file("generate"),
    benchmark:
        benchmark_file("generate")
    wildcard_constraints:
        case=cases_of("generate"),
    priority: priority_of("generate")
    threads: threads_of("generate")
    resources:
        cpu=cpu_slots,
        mem_mb=memory_of("generate"),
        runtime=time_limit("generate"),
        gpu=GPUS_PER_JOB,


use rule train as ablation with:
    output:
        **get_run_outputs("ablation"),
    log:
        log_file("ablation"),
    benchmark:
        benchmark_file("ablation")
    wildcard_constraints:
        case=cases_of("ablation"),
    priority: priority_of("ablation")
    threads: threads_of("ablation")
    resources:
        cpu=cpu_slots,
        mem_mb=memory_of("ablation"),
        runtime=time_limit("ablation"),
        gpu=GPUS_PER_JOB,


use rule train as ablation_continued with:
    output:
        **get_run_outputs("ablation_continued"),
    log:
        log_file("ablation_continued"),
    benchmark:
        benchmark_file("ablation_continued")
    wildcard_constraints:
        case=cases_of("ablation_continued"),
    priority: priority_of("ablation_continued")
    threads: threads_of("ablation_continued")
    resources:
        cpu=cpu_slots,
        mem_mb=memory_of("ablation_continued"),
        runtime=time_limit("ablation_continued"),
        gpu=GPUS_PER_JOB,


rule score:
    input:
        unpack(get_score_inputs),
    output:
        **score_outputs(),
    log:
        log_file(SCORE),
    benchmark:
        benchmark_file(SCORE)
    wildcard_constraints:
        case=one_of(PLAN.runs),
    priority: priority_of(SCORE)
    conda:
        "../../envs/sincvae.yaml"
    resources:
        cpu=cpu_slots,
        mem_mb=memory_of(SCORE),
        runtime=time_limit(SCORE),
    params:
        case=lambda w: PLAN.runs[w.case].case,
        seeds=lambda w: PLAN.seeds[w.case],
        dataset=dataset_params,
        match_tolerance=config["evaluate"]["match_tolerance"],
        seed=config["data"]["seed"],
    script:
        "../scripts/score.py"
