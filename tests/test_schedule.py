"""The study's jobs as a schedule (sincvae.plan.schedule): a costly case's seeds split over jobs,
each job's priority its chain's length, and the schedule Snakemake makes of them simulated on
a number of cores, its graph the one Snakemake builds."""

import subprocess

import pytest
import yaml

from conftest import QUICK_STUDY, ROOT, SNAKEMAKE, dry_run_blocks, merged
from sincvae.plan.cost import Costs
from sincvae.plan.jobs import job_table
from sincvae.plan.machine import describe_cpu
from sincvae.plan.planning import RUN_FAMILIES, plan
from sincvae.plan.schedule import (critical_path, job_key, prioritised, schedule, simulate, split_by_cost, wall_table,
                                   waits)

CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
COSTS = Costs.calibrated(ROOT / "config" / "costs")[0]


def job(rule: str, ref: float, threads: int = 1, local: bool = False, priority: int = 0) -> dict:
    return {"rule": rule, "dataset": None, "case": None, "seeds": None, "split": None, "ref": ref,
            "threads": threads, "local": local, "priority": priority}


# A chain, the search (4) then a training (2), beside two jobs of 3 each, on 2 cores: by the
# chain's length the search starts at once and the training ends at 6; taken in the table's
# order the two jobs go first, and the chain runs from 3 to 9.
CHAIN = [job("notebook", 3.0), job("plot_dataset", 3.0), job("tune", 4.0), job("train", 2.0)]
GRAPH = {("train", None, None, None, None): [("tune", None, None, None, None)]}


def test_the_head_of_the_longest_chain_starts_first():
    ranked = prioritised(CHAIN, GRAPH)
    assert [j["priority"] for j in ranked] == [30, 30, 60, 20]  # own wall and the longest chain after it, in tenths
    assert simulate(ranked, GRAPH, 2).wall == 6.0
    assert simulate(CHAIN, GRAPH, 2).wall == 9.0  # all priorities equal: the table's order
    assert simulate(ranked, GRAPH, 1).wall == 12.0  # one core: the CPU
    assert [j["rule"] for j in critical_path(CHAIN, GRAPH)] == ["tune", "train"]


def test_a_job_of_several_threads_takes_their_cores_and_a_local_one_none_on_a_cluster():
    search = [job("tune", 8.0, threads=2), job("train", 4.0), job("compare", 1.0, local=True)]
    # the search runs 4 on both cores; train and compare after it, one core each
    assert simulate(search, {}, 2).wall == 8.0
    # 3 cores: the search and train at once; compare on the core train frees
    assert simulate(search, {}, 3).wall == 5.0
    # a cluster's local job runs where Snakemake runs, beside the computing jobs
    assert simulate(search, {}, 3, cluster=True).wall == 4.0


def test_a_case_is_split_over_jobs_only_when_its_cost_needs_it():
    study = plan(CONFIG)
    assert split_by_cost(study, CONFIG, COSTS).split == {}  # max_job_share 1: a job per case
    config = merged(CONFIG, {"max_job_share": 0.02})
    split = split_by_cost(study, config, COSTS)
    assert split.split, "a 2% share splits the costliest cases"
    for case, batches in split.split.items():
        assert [seed for batch in batches for seed in batch] == study.seeds[case]
        assert max(map(len, batches)) - min(map(len, batches)) <= 1
    # every run job within the share, unless it is a single seed
    unsplit = sum(j["ref"] for j in job_table(study, config, COSTS))
    for priced in job_table(split, config, COSTS):
        if priced["rule"] in RUN_FAMILIES and "-" in priced["seeds"]:
            assert priced["ref"] <= 0.02 * unsplit


def _dry_run_graph(config_files: list[str]) -> tuple[set, set]:
    """Snakemake's own job graph of a forced dry run: its jobs (rule, wildcards) and each edge
    from a job to one that reads a file it writes."""
    out = subprocess.run([*SNAKEMAKE, "--directory", str(ROOT), "-n", "--forceall", "--configfile", *config_files],
                         capture_output=True, text=True, check=True).stdout
    jobs = []
    for rule, fields in dry_run_blocks(out):
        if rule == "all":
            continue
        wildcards = dict(pair.split("=", 1) for pair in fields.get("wildcards", "").split(", ") if pair)
        jobs.append((job_key({"rule": rule, **wildcards}), set(fields.get("input", "").split(", ")),
                     set(fields.get("output", "").split(", "))))
    writer = {path: key for key, _, outputs in jobs for path in outputs}
    edges = {(writer[path], key) for key, inputs, _ in jobs for path in inputs if path in writer}
    return {key for key, _, _ in jobs}, edges


def _ancestors(edges: set) -> set:
    """The transitive closure of the edges: (a, b) where b waits on a, however indirectly."""
    before: dict = {}
    for a, b in edges:
        before.setdefault(b, set()).add(a)
    closure: dict = {}

    def reach(node) -> set:
        if node not in closure:
            closure[node] = set()
            for other in before.get(node, ()):
                closure[node] |= {other} | reach(other)
        return closure[node]

    return {(a, b) for b in {b for _, b in edges} for a in reach(b)}


def test_the_plans_job_graph_is_snakemakes(tmp_path):
    """The quick study with its cases split over jobs: the plan's jobs are the dry run's, and a job
    waits on another, directly or not, in the plan's graph exactly when it does in Snakemake's."""
    overlay = tmp_path / "split.yaml"
    overlay.write_text("max_job_share: 0.02\n")
    keys, edges = _dry_run_graph([str(ROOT / "config" / "quick.yaml"), str(overlay)])
    config = merged(QUICK_STUDY, {"max_job_share": 0.02})
    here = Costs.for_machine(ROOT / "config" / "costs", describe_cpu())  # the rates the Snakefile splits by
    study = split_by_cost(plan(config), config, here)
    jobs = job_table(study, config, here, 2)
    assert any(j["rule"] in RUN_FAMILIES and j["case"] in study.split for j in jobs), "some case is split"
    assert {job_key(j) for j in jobs} == keys
    graph = waits(study, config, jobs)
    planned = {(before, key) for key, waited in graph.items() for before in waited}
    assert _ancestors(planned) == _ancestors(edges)


@pytest.mark.parametrize("cores", [2, 8])
def test_the_simulated_wall_is_never_below_the_cpu_over_the_cores_nor_the_critical_path(cores):
    planned = schedule(CONFIG, COSTS, cores)[0]
    assert planned.wall >= max(planned.cpu / cores, planned.critical_ref) - 1e-9


def test_the_cluster_pages_tables_are_the_plans():
    """docs/cluster.md's wall tables are `sincvae plan --table` on the rates it names."""
    text = (ROOT / "docs" / "cluster.md").read_text()
    machine = "Intel(R) Xeon(R) Processor, 2 cores, amx_bf16, avx512_bf16"
    assert f'--machine "{machine.replace(" avx512_bf16", chr(10) + "avx512_bf16")}"' in text
    costs = Costs.for_machine(ROOT / "config" / "costs", machine)
    paper = merged(CONFIG, yaml.safe_load((ROOT / "config" / "paper.yaml").read_text()))
    assert wall_table(CONFIG, costs, [2, 8, 64, 256]) in text
    assert wall_table(paper, costs, [2, 8, 64, 256], cluster=True) in text
