# What each job asks of the machine, read from the table of jobs (sincvae.plan.jobs, priced by
# sincvae.plan.cost): its time limit on a cluster, memory, priority, threads and GPUs.
import os

from sincvae.plan.cost import Costs, plan_line, time_limits
from sincvae.plan.jobs import job_table, memory_mb, priority as job_priority
from sincvae.plan.machine import describe_cpu

# Every job's cost in reference epochs, from the rates of this machine's file in config/costs/
# (the nearest machine's if it has none): results/plan.csv before anything trains, the time
# limits on a cluster.
MACHINE = describe_cpu()
COSTS = Costs.for_machine(os.path.join(workflow.basedir, "config", "costs"), MACHINE)
JOBS = job_table(PLAN, config, COSTS, cores_here())
# Each job's time limit on a cluster, by rule and case (cost.time_limits).
TIME_LIMITS = time_limits(JOBS, COSTS.reference_epoch_s)
GPUS_PER_JOB = 1 if config["device"] == "cuda" else 0


def time_limit(rule):
    """A job's runtime on a cluster: its rule's (a run rule's family) limit for its case."""
    return lambda wildcards: TIME_LIMITS[rule, wildcards.get("case")]


def memory_of(rule):
    """A rule's jobs' memory request, as the table of jobs has it (sincvae.plan.jobs.memory_mb)."""
    return lambda wildcards, threads: memory_mb(rule, threads)


def priority_of(rule):
    """A rule's jobs' priority, as the table of jobs has it (sincvae.plan.jobs.priority)."""
    return lambda wildcards: job_priority(PLAN, config, rule, wildcards.get("case"))


def threads_of(rule):
    """A rule's jobs' threads, as the table of jobs has them (sincvae.plan.jobs.Step.threads)."""
    return max((job["threads"] for job in JOBS if job["rule"] == rule), default=1)
