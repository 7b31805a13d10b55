# Every case's two jobs. Its run job (planning.Run, one library function: evaluate.run_seeds):
# each of its seeds trained if its method learns, then its lines generated (raw, and refined for
# the comparison) on the scored rows of each split. Its score job: the stored lines scored against
# the exact solutions, and its metrics.json over the seeds; a scoring setting reruns only this.
# A rule's outputs list its seeds, so the plan gives one rule per family and seed count
# (planning.RunGroup): `train` (the comparison's cases that learn),
# `train_grid_point` (the search's grid, first seed, validation rows), `generate` (methods that
# learn nothing), `ablation` (a level of a claim's sweep) and `ablation_continued` (a level that
# a longer epochs level resumes, which keeps each seed's full training state); and `score`.


for group in PLAN.run_groups():

    rule:
        name:
            group.name
        input:
            unpack(get_run_inputs),
            checked=paths.DATA_VALIDATION,
        output:
            **get_run_outputs(group),
        log:
            log_file(group.family),
        benchmark:
            benchmark_file(group.family)
        wildcard_constraints:
            case=one_of(group.cases),
        priority: priority_of(group.family)
        conda:
            "../../envs/sincvae.yaml"
        threads: threads_of(group.family)
        resources:
            cpu=cpu_slots,
            mem_mb=memory_of(group.family),
            runtime=time_limit(group.family),
            gpu=GPUS_PER_JOB,
        params:
            run=lambda w: asdict(PLAN.runs[w.case]),
            dataset=dataset_params,
            device=config["device"],
            tolerance=enumerator_tolerance,
        script:
            "../scripts/run.py"


for group in PLAN.score_groups():

    rule:
        name:
            group.name
        input:
            unpack(get_score_inputs),
        output:
            **score_outputs(group.seeds),
        log:
            log_file(SCORE),
        benchmark:
            benchmark_file(SCORE)
        wildcard_constraints:
            case=one_of(group.cases),
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
