# What each job asks of the machine, read from the table of jobs (sincvae.plan.jobs, priced by
# sincvae.plan.cost): its time limit on a cluster, memory, priority, threads and GPUs.
import os

from sincvae.plan.cost import Costs, time_limits
from sincvae.plan.jobs import memory_mb
from sincvae.plan.machine import describe_cpu
from sincvae.plan.schedule import job_key, plan_line, priced_jobs
from sincvae.plan.schedule import simulate, split_by_cost

# Every job's cost in reference epochs, from the rates of this machine's file in config/costs/
# (the nearest machine's if it has none): results/plan.csv before anything trains, the time
# limits on a cluster.
MACHINE = describe_cpu()
COSTS = Costs.for_machine(os.path.join(workflow.basedir, "config", "costs"), MACHINE)
# a costly case's seeds over several run jobs (config max_job_share)
PLAN = split_by_cost(PLAN, config, COSTS)
# Each job's priority is its chain's length; the job graph is what the plan's simulated schedule
# runs (sincvae.plan.schedule).
JOBS, WAITS = priced_jobs(PLAN, config, COSTS, cores_here())
PRIORITIES = {job_key(job): job["priority"] for job in JOBS}
# Each job's time limit on a cluster, by rule and case (cost.time_limits).
TIME_LIMITS = time_limits(JOBS, COSTS.reference_epoch_s)
GPUS_PER_JOB = 1 if config["device"] == "cuda" else 0


def planned_schedule(cores):
    """The study simulated on `cores` computing cores (sincvae.plan.schedule.simulate), here or
    on a cluster (a run given --jobs)."""
    return simulate(JOBS, WAITS, cores, cluster=cores_here() is None)


def time_limit(rule):
    """A job's runtime on a cluster: its rule's limit for its case and batch of seeds."""
    return lambda w: TIME_LIMITS[rule, w.get("case"), w.get("seeds")]


def memory_of(rule):
    """A rule's jobs' memory request, as the table of jobs has it (sincvae.plan.jobs.memory_mb)."""
    return lambda wildcards, threads: memory_mb(rule, threads)


def priority_of(rule):
    """A job's priority, its chain's length (sincvae.plan.schedule.prioritised)."""
    return lambda wildcards: PRIORITIES[job_key({"rule": rule, **wildcards})]


def threads_of(rule):
    """A rule's jobs' threads, as the table of jobs has them (sincvae.plan.jobs.Step.threads)."""
    return max((job["threads"] for job in JOBS if job["rule"] == rule), default=1)
