# Every case's job (planning.Run, one library function: evaluate.run_seeds): each of its seeds
# trained if its method learns, then its lines generated (raw, and refined for the comparison) on
# the scored rows of each split and scored against the exact solutions; its metrics.json
# summarises the seeds. A rule's outputs list its seeds, so the plan gives one rule per family
# and seed count (planning.RunGroup): `train` (the comparison's cases that learn),
# `train_grid_point` (the search's grid, first seed, validation rows), `generate` (methods that
# learn nothing), `ablation` (a level of a claim's sweep) and `ablation_continued` (a level that
# a longer epochs level resumes, which keeps each seed's full training state).


for group in PLAN.run_groups():

    rule:
        name:
            group.name
        input:
            unpack(get_run_inputs),
            solutions="results/{dataset}/exact/solutions.parquet",
            checked="results/{dataset}/data_validation.json",
        output:
            **get_run_outputs(group),
        log:
            f"logs/{group.family}/{{dataset}}/{{case}}.log",
        benchmark:
            f"benchmarks/{group.family}/{{dataset}}/{{case}}.tsv"
        wildcard_constraints:
            case=one_of(group.cases),
        priority: FIRST if group.family == "generate" else get_training_priority
        conda:
            "../../envs/sincvae.yaml"
        threads: config["threads"]
        resources:
            cpu=cpu_slots,
            # measured peaks: 1.0 GB with refinement (default config), 0.5 GB for a level at 20,000 rows
            mem_mb=1500 if group.family.startswith("ablation") else 2500,
            runtime=lambda w: TIME_LIMITS[w.case],
            gpu=GPUS_PER_JOB,
        params:
            run=lambda w: asdict(PLAN.runs[w.case]),
            dataset=dataset_params,
            device=config["device"],
            match_tolerance=config["evaluate"]["match_tolerance"],
            tolerance=enumerator_tolerance,
        script:
            "../scripts/run.py"
