# The one adapter over Snakemake's internals, for what no public interface gives a Snakefile:
# whether this run schedules its jobs here or on an executor, how many cores it has, and a
# global limit set from the machine (snakemake/snakemake#2821 tracks what --cores means under an
# executor; until a Snakefile can ask, this file reads workflow.nodes, workflow.cores and
# workflow.global_resources). tests/test_profiles.py, tests/test_pipeline.py and
# tests/test_slurm.py fail when they change.
import os
import sys

from snakemake.exceptions import WorkflowError

# Every job that computes is CPU-bound: with --cores above the cores this process may use, jobs
# would share cores, each slower and none sooner (docs/cluster.md "Concurrency"). Those jobs
# declare the global resource `cpu` (their threads); run here, its limit is this machine's
# cores unless --resources cpu=N says otherwise. A cluster runs each job on its own cores, and
# queues what does not fit: there no limit is set, so Snakemake submits every job that is ready.
# While the Snakefile is read, Snakemake knows no executor yet (`workflow.local_exec` is True
# even under --executor slurm); a run elsewhere than here is one given --jobs (`workflow.nodes`).
MACHINE_CORES = len(os.sched_getaffinity(0))
if workflow.nodes is None and "cpu" not in workflow.global_resources:
    workflow.register_resource("cpu", MACHINE_CORES)
    print(
        f"at most {MACHINE_CORES} computing jobs at once: this machine's cores "
        f"(--resources cpu=N to change)",
        file=sys.stderr,
    )


def cpu_slots(wildcards, threads):
    """A computing job's share of the `cpu` resource: its threads."""
    return threads


def computing_cores():
    """How many computing jobs run at once here: --cores, capped by the `cpu` resource; the
    machine's cores when no --cores is given (snakemake --report)."""
    try:
        cores = workflow.cores
    except WorkflowError:
        cores = MACHINE_CORES
    resources = workflow.global_resources
    return min(cores, resources["cpu"].value if "cpu" in resources else MACHINE_CORES)


def cores_here():
    """The computing cores of a run that schedules its jobs here; None on a cluster (a run
    given --jobs), whose nodes run each job on cores of its own."""
    return None if workflow.nodes is not None else computing_cores()
