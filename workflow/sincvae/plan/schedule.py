"""How the study's work is cut into jobs and how those jobs run: a costly case's seeds split over
several run jobs (split_by_cost); each job's priority, the longest chain of work from its start
to the study's end (prioritised); and the schedule Snakemake makes of them on a number of
cores, simulated (simulate): its wall time and its critical path. Torch-free: the Snakefile and
`sincvae plan` call it while planning.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, replace

from sincvae.plan.cost import Costs
from sincvae.plan.jobs import STEPS, job_table
from sincvae.plan.planning import RUN_FAMILIES, Plan, plan as make_plan


def _batches(seeds: list[int], parts: int) -> list[tuple[int, ...]]:
    """`seeds` in `parts` runs of consecutive seeds, the first ones one longer where they do not divide."""
    size, extra = divmod(len(seeds), parts)
    out, start = [], 0
    for part in range(parts):
        end = start + size + (part < extra)
        out.append(tuple(seeds[start:end]))
        start = end
    return out


def split_by_cost(plan: Plan, config: dict, costs: Costs) -> Plan:
    """The plan with each case's seeds split over as many run jobs as its cost needs, so that no
    run job holds more than `max_job_share` of the study's CPU (config; 1: a job per case, as
    two cores want, where every job's start-up counts). A cluster overlaps the parts: its wall
    time is no longer bound by the costliest case. A seed's lines are the same in any batch
    (tests/test_pipeline.py), so the split changes the jobs, not the numbers."""
    share = config["max_job_share"]
    if share >= 1:
        return plan
    jobs = job_table(replace(plan, split={}), config, costs)
    cap = share * sum(job["ref"] for job in jobs)
    split = {}
    for case in plan.runs:
        ref = max(job["ref"] for job in jobs if job["rule"] in RUN_FAMILIES and job["case"] == case)
        seeds = len(plan.seeds[case])
        most = max(1, math.floor(cap / (ref / seeds)))  # seeds a job holds within the cap, its start-up shared
        parts = math.ceil(seeds / most)
        if parts > 1:
            split[case] = _batches(plan.seeds[case], parts)
    return replace(plan, split=split)


def job_key(job: dict) -> tuple:
    """A job by its rule and wildcards (absent ones None)."""
    return tuple(job.get(name) for name in ("rule", "dataset", "case", "seeds", "split"))


def waits(plan: Plan, config: dict, jobs: list[dict]) -> dict[tuple, list[tuple]]:
    """Each job's (by its rule and wildcards) jobs it waits on (Step.after), among `jobs`: the
    study's job graph."""
    by_rule: dict[str, list[dict]] = {}
    for job in jobs:
        by_rule.setdefault(job["rule"], []).append(job)
    graph = {}
    for job in jobs:
        before = []
        for wait in STEPS[job["rule"]].after(plan, config, job):
            before += [job_key(other) for other in by_rule.get(wait["rule"], [])
                       if all(other[name] == value for name, value in wait.items())]
        graph[job_key(job)] = list(dict.fromkeys(before))
    return graph


FIRST = 10**9  # a Step.first job's priority: above any chain's


def _successors(by_key: dict[tuple, dict], graph: dict[tuple, list[tuple]]) -> dict[tuple, list[tuple]]:
    """Each job's jobs that wait on it: the graph turned round."""
    after: dict[tuple, list[tuple]] = {key: [] for key in by_key}
    for key in by_key:
        for other in graph.get(key, []):
            after[other].append(key)
    return after


def prioritised(jobs: list[dict], graph: dict[tuple, list[tuple]]) -> list[dict]:
    """The jobs, each with its priority: its chain's reference epochs (its own wall and the
    longest chain of jobs that wait on it, in tenths), so that among the jobs ready at once the
    head of the longest chain starts first: list scheduling by critical path, within a few
    per cent of the best schedule when no job is long against the study. A Step.first job
    (the plan, which times an idle core) comes before all."""
    by_key = {job_key(job): job for job in jobs}
    chains = _longest_chains(by_key, _successors(by_key, graph))
    return [{**job, "priority": FIRST if STEPS[job["rule"]].first else round(10 * chains[job_key(job)][0])}
            for job in jobs]


def _longest_chains(by_key: dict[tuple, dict], next_of: dict[tuple, list[tuple]]) -> dict[tuple, tuple]:
    """Each job's longest chain of walls through `next_of` (the jobs that wait on it, or those
    it waits on): (its length, the next job on it or None)."""
    longest: dict[tuple, tuple[float, tuple | None]] = {}

    def chain(key: tuple) -> float:
        if key not in longest:
            following = max(next_of.get(key, []), key=chain, default=None)
            longest[key] = (_wall(by_key[key]) + (chain(following) if following is not None else 0.0), following)
        return longest[key][0]

    for key in by_key:
        chain(key)
    return longest


def priced_jobs(plan: Plan, config: dict, costs: Costs, cores: int | None) -> tuple[list[dict], dict]:
    """The study's jobs (job_table), priced and prioritised, and its job graph (waits)."""
    jobs = job_table(plan, config, costs, cores)
    graph = waits(plan, config, jobs)
    return prioritised(jobs, graph), graph


@dataclass(frozen=True)
class Schedule:
    """A simulated run of the study: its wall time and CPU in reference epochs, and its critical
    path (the chain of jobs, each waiting on the one before, whose walls sum the longest)."""

    cores: int
    wall: float
    cpu: float
    critical: list[dict]  # the critical path's jobs, first to last: rule, dataset, case, seeds, ref

    @property
    def critical_ref(self) -> float:
        return sum(job["wall"] for job in self.critical)

    @property
    def over_ideal(self) -> float:
        """Its wall over its CPU spread evenly over the cores."""
        return self.wall / (self.cpu / self.cores)

    def summary(self) -> dict:
        return {"cores": self.cores, "cpu_ref": self.cpu, "wall_ref": self.wall,
                "wall_over_cpu_per_core": self.over_ideal,
                "critical_path_ref": self.critical_ref,
                "critical_path": [_name(job) for job in self.critical]}


def _name(job: dict) -> str:
    """A job as the dry run shows it: rule and wildcards."""
    values = [f"{name}={job[name]}" for name in ("dataset", "case", "seeds", "split") if job.get(name) is not None]
    return f"{job['rule']}({', '.join(values)})" if values else job["rule"]


def _wall(job: dict) -> float:
    """A job's own wall time: its CPU over its threads (a search's trials run side by side)."""
    return job["ref"] / job["threads"]


def simulate(jobs: list[dict], graph: dict[tuple, list[tuple]], cores: int, cluster: bool = False) -> Schedule:
    """The study's schedule on `cores` computing cores, as Snakemake makes it: whenever cores
    are free, the ready job of the highest priority that fits them starts (the table's order
    among equals); a job is ready when every job it waits on has ended. On a `cluster` a local
    job (Step.local: seconds of bookkeeping) runs where Snakemake runs, beside the computing
    jobs, without a core of theirs; on one machine it takes a core like any job."""
    by_key = {job_key(job): job for job in jobs}

    def cores_taken(job: dict) -> int:
        return 0 if cluster and job["local"] else min(job["threads"], cores)

    order = {key: index for index, key in enumerate(by_key)}
    waiting = {key: len(graph.get(key, [])) for key in by_key}
    after = _successors(by_key, graph)
    ready = [key for key, count in waiting.items() if count == 0]
    running: list[tuple[float, int, tuple]] = []  # (end, order, key)
    free, now = cores, 0.0
    while ready or running:
        ready.sort(key=lambda key: (-by_key[key]["priority"], order[key]))
        started = set()
        for key in ready:
            job = by_key[key]
            need = cores_taken(job)
            if need <= free:
                free -= need
                heapq.heappush(running, (now + _wall(job), order[key], key))
                started.add(key)
        ready = [key for key in ready if key not in started]
        now = running[0][0]
        while running and running[0][0] == now:  # every job ending now, before the next choice
            _, _, key = heapq.heappop(running)
            free += cores_taken(by_key[key])
            for other in after[key]:
                waiting[other] -= 1
                if waiting[other] == 0:
                    ready.append(other)
    return Schedule(cores, now, sum(job["ref"] for job in jobs), critical_path(jobs, graph))


def critical_path(jobs: list[dict], graph: dict[tuple, list[tuple]]) -> list[dict]:
    """The chain of jobs, each waiting on the one before, whose own walls sum the longest: no
    number of cores runs the study in less."""
    by_key = {job_key(job): job for job in jobs}
    longest = _longest_chains(by_key, graph)
    last = max(by_key, key=lambda key: longest[key][0])
    path = []
    while last is not None:
        path.append({**by_key[last], "wall": _wall(by_key[last])})
        last = longest[last][1]
    return path[::-1]


def schedule(config: dict, costs: Costs, cores: int, cluster: bool = False) -> tuple[Schedule, list[dict]]:
    """The study of `config`, its seeds split by cost, priced (job_table) and simulated on
    `cores` cores of one machine or of a `cluster`; and its priced jobs."""
    study = split_by_cost(make_plan(config), config, costs)
    jobs, graph = priced_jobs(study, config, costs, None if cluster else cores)
    return simulate(jobs, graph, cores, cluster), jobs


def plan_line(planned: Schedule, jobs: list[dict], costs: Costs, machine: str) -> str:
    """The plan in one line: jobs, reference epochs of CPU, the simulated wall time in reference
    epochs and in minutes at the calibrating machine's reference epoch, and the critical path
    (`machine`: this one's description)."""
    other = "" if costs.cpu == machine else f"; this machine: {machine}, which `python -m sincvae.plan.calibration probe` times"
    guessed = sum(job["estimated"] for job in jobs)
    estimates = (f"; {guessed} of them priced at an estimate, no calibration having measured their rates "
                 f"(results/plan.csv: estimated)") if guessed else ""
    return (f"planned: {len(jobs)} jobs, {planned.cpu:,.0f} reference epochs of CPU, {planned.wall:,.0f} of wall "
            f"time on {planned.cores} cores (a simulated schedule; its critical path {planned.critical_ref:,.0f}, "
            f"{len(planned.critical)} jobs): about {planned.wall * costs.reference_epoch_s / 60:.0f} min at "
            f"{costs.reference_epoch_s:.2f} s per reference epoch (rates of {costs.cpu}{other}{estimates}); "
            f"`snakemake results/plan.csv` measures this machine's")


def wall_table(config: dict, costs: Costs, cores: list[int], cluster: bool = False) -> str:
    """The study's simulated wall on each number of `cores`, as a Markdown table in reference
    epochs: beside the CPU spread evenly over the cores, and the critical path."""
    lines = ["| cores | jobs | CPU | simulated wall | wall ÷ (CPU ÷ cores) | critical path |",
             "|---:|---:|---:|---:|---:|---:|"]
    for count in cores:
        planned, jobs = schedule(config, costs, count, cluster)
        lines.append(f"| {count} | {len(jobs)} | {planned.cpu:,.0f} | {planned.wall:,.0f} | "
                     f"{planned.over_ideal:.2f} | {planned.critical_ref:,.0f} |")
    return "\n".join(lines)
