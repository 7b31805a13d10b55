"""The study as one table of jobs (sincvae.plan.jobs): every rule of the workflow is in it, every job
has its own log and benchmark, the parts of the study a config leaves out have no jobs, and a
new rule takes its rule block and its table entry, nothing else."""

import re
import subprocess
import sys

import pandas as pd
import yaml

from conftest import QUICK_STUDY, ROOT, add_to, merged, snakemake_in, workflow_copy
from sincvae.plan.cost import Costs
from sincvae.plan.jobs import STEPS, benchmark_file, log_file, study_jobs
from sincvae.paths import SPLITS
from sincvae.plan.planning import RUN_FAMILIES, SCORE, plan
from sincvae.plan.schedule import FIRST, job_key, priced_jobs

CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def written_rules() -> set[str]:
    """The rules a reader finds by grep: `rule NAME:` and `use rule ... as NAME` in the rule files."""
    text = "\n".join(p.read_text() for p in [ROOT / "Snakefile", *(ROOT / "workflow" / "rules").glob("*.smk")])
    return {*re.findall(r"^rule (\w+):", text, flags=re.M), *re.findall(r"^use rule \w+ as (\w+)", text, flags=re.M)}


def test_every_rule_of_the_workflow_is_in_the_table_and_written_out():
    """`snakemake --list-rules` against the table: each rule is an entry, and each is a block of
    the rule files (none is made in a loop); the default target and the two rules that refuse
    unknown ids are no jobs."""
    listed = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
                             "--directory", str(ROOT), "--list-rules"], capture_output=True, text=True, check=True)
    rules = set(listed.stdout.split())
    assert rules == written_rules()
    assert rules - {"all", "unknown_case", "unknown_dataset"} == set(STEPS)
    assert {*RUN_FAMILIES, SCORE} <= rules


def test_each_job_has_its_own_files_and_every_split_its_data_job():
    study = plan(CONFIG)
    jobs = pd.DataFrame(study_jobs(study, CONFIG))
    assert jobs["log"].is_unique and jobs["benchmark"].is_unique
    final = jobs[(jobs["case"] == "final-l1mean-b1.1-wx0.6-wy0.6-z110") & (jobs["dataset"] == "data_2")]
    assert sorted(final["rule"]) == [SCORE, "train"]
    assert set(final["benchmark"]) == {"benchmarks/train/data_2/final-l1mean-b1.1-wx0.6-wy0.6-z110/seeds0-2.tsv",
                                       "benchmarks/score/data_2/final-l1mean-b1.1-wx0.6-wy0.6-z110.tsv"}
    data = jobs[jobs["rule"] == "generate_data"]
    assert sorted(zip(data["dataset"], data["split"])) == sorted((d, s) for d in CONFIG["datasets"] for s in SPLITS)
    assert set(data["log"]) == {f"logs/generate_data/{d}/{s}.log" for d in CONFIG["datasets"] for s in SPLITS}
    assert jobs.loc[jobs["rule"] == "report", "benchmark"].tolist() == ["benchmarks/report.tsv"]
    # a rule's pattern is its jobs' paths with their wildcards
    assert log_file("notebook") == "logs/notebook/{dataset}.log"
    assert benchmark_file(SCORE) == "benchmarks/score/{dataset}/{case}.tsv"
    # the bookkeeping runs where snakemake runs; nothing that trains does
    assert set(jobs.loc[jobs["local"], "rule"]) == {rule for rule, step in STEPS.items() if step.local}
    assert not jobs.loc[jobs["rule"].isin(RUN_FAMILIES), "local"].any()


def test_a_jobs_priority_is_its_chain_to_the_studys_end():
    """Each job's priority: its own wall and the longest chain of jobs waiting on it, in tenths
    (schedule.prioritised), so the head of a long chain starts before a short job; the plan
    first (it times an idle core)."""
    costs = Costs.calibrated(ROOT / "config" / "costs")[0]
    jobs, graph = priced_jobs(plan(CONFIG), CONFIG, costs, 2)
    priority = {job_key(job): job["priority"] for job in jobs}
    wall = {job_key(job): job["ref"] / job["threads"] for job in jobs}
    waiting_on: dict = {key: [] for key in priority}
    for key, before in graph.items():
        for other in before:
            waiting_on[other].append(key)
    for key, after in waiting_on.items():
        if key[0] == "plan":
            assert priority[key] == FIRST
            continue
        longest = max((priority[other] for other in after), default=0)
        assert abs(priority[key] - (10 * wall[key] + longest)) <= 1, key  # two roundings to tenths
    # a training job's data before it, its score job after it
    train = next(key for key in priority if key[0] == "train")
    score = ("score", train[1], train[2], None, None)
    assert priority[("generate_data", train[1], None, None, "train")] > priority[train] > priority[score]


def test_the_local_rules_are_the_tables_local_steps():
    """A rule block is local (`localrule:`) exactly where its entry in the table says so, read
    from the entry (common.smk runs_here), never written out beside it."""
    text = "\n".join(p.read_text() for p in [ROOT / "Snakefile", *(ROOT / "workflow" / "rules").glob("*.smk")])
    blocks = re.split(r"^rule ", text, flags=re.M)[1:]
    local = {block.split(":")[0]: re.search(r"^    localrule: (.*)$", block, flags=re.M) for block in blocks}
    assert {rule: found.group(1) for rule, found in local.items() if found} == {
        "all": "True", **{rule: f'runs_here("{rule}")' for rule, step in STEPS.items() if step.local}}


def test_a_part_the_config_leaves_out_has_no_jobs():
    config = merged(CONFIG, {"tuning": None, "ablations": None})
    rules = {job["rule"] for job in study_jobs(plan(config), config)}
    assert not rules & {"tune", "grid", "best_setting", "verdicts", "plot_claims", "train_grid_point", "ablation"}
    assert {"train", SCORE, "report", "plot_latent"} <= rules
    assert "throughput" not in rules  # asked for by name only
    external = merged(config, {"external": {"theirs": {"dataset": "data_2", "path": "their.pt"}}})
    scored = [job for job in study_jobs(plan(external), external) if job["rule"] == "score_external"]
    assert [(job["dataset"], job["case"], job["log"]) for job in scored] == [
        ("data_2", "theirs", "logs/score_external/data_2/theirs.log")]


TOY_RULE = '''
rule toy:
    input:
        paths.EXACT_SOLUTIONS,
    output:
        paths.TOY,
    log:
        log_file("toy"),
    benchmark:
        benchmark_file("toy")
    localrule: runs_here("toy")
    shell:
        "wc -c {input} > {output} 2> {log}"
'''


def test_a_new_rule_takes_its_block_its_file_and_its_table_entry(tmp_path):
    """A toy step added to a copy of the workflow in three places (its rule block in a rule file,
    its file in sincvae.paths and its entry in STEPS, with no costs file touched): the dry run
    plans its job as the report's input, results/plan.csv prices it at its step's estimate and
    says so, and its job writes the log and the benchmark the table names."""
    copy = workflow_copy(tmp_path)
    add_to(copy / "workflow" / "sincvae" / "plan" / "jobs.py", '    "report": Step((), local=True, after=_everything),\n',
           '    "toy": Step(("dataset",), local=True, estimate=7.0, after=_on("solve_exact")),\n')
    add_to(copy / "workflow" / "sincvae" / "paths.py", 'REPORT = "results/report.html"\n', 'TOY = "results/{dataset}/toy.txt"\n')
    rules = copy / "workflow" / "rules" / "evaluate.smk"
    rules.write_text(rules.read_text() + TOY_RULE)
    dry = snakemake_in(copy, "--dry-run")
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert re.search(r"^toy\s+1$", dry.stdout, flags=re.M)  # the report waits on its benchmark
    ran = snakemake_in(copy, "--cores", "2", "results/plan.csv", "results/data_1/toy.txt")
    assert ran.returncode == 0, ran.stderr[-3000:]
    planned = pd.read_csv(copy / "results" / "plan.csv").query("rule == 'toy'")
    assert planned[["dataset", "ref", "local", "benchmark", "estimated"]].to_dict("records") == [
        {"dataset": "data_1", "ref": 7.0, "local": True, "benchmark": "benchmarks/toy/data_1.tsv", "estimated": True}]
    assert (copy / "benchmarks" / "toy" / "data_1.tsv").exists() and (copy / "logs" / "toy" / "data_1.log").exists()
    study = plan(QUICK_STUDY)
    assert len(pd.read_csv(copy / "results" / "plan.csv")) == len(study_jobs(study, QUICK_STUDY)) + 1
