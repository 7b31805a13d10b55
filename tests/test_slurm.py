"""The pipeline through a real SLURM cluster: snakemake-executor-plugin-slurm submits every job
to the one-node cluster that .ci/start-slurm starts (CI runs it; elsewhere this skips without
SLURM), with the project's profile and its placeholders overridden on the command line.

The whole quick study runs there under load (a busy process on one core: jobs run slower and
finish in another order), and every metrics file must be the same bytes as the session's local
run of it (conftest.quick_run, the README's command): results depend on neither the executor,
nor the load, nor the order jobs ran in.
"""

import collections
import os
import re
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import QUICK_STUDY, ROOT, snakemake
from sincvae.plan.jobs import STEPS
from sincvae.plan.planning import plan

SLURM = shutil.which("sbatch") and subprocess.run(["sinfo", "-h"], capture_output=True).returncode == 0
pytestmark = pytest.mark.skipif(not SLURM and not os.environ.get("CI"),
                                reason="no SLURM here (.ci/start-slurm starts a one-node cluster, as CI does)")


@contextmanager
def busy_core():
    """A process that keeps one core busy: jobs run slower and finish in another order."""
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        spin.kill()
        spin.wait()


def test_the_quick_study_on_slurm_under_load_writes_the_metrics_of_the_local_run(quick_run, tmp_path):
    workdir = tmp_path / "slurm"
    shutil.copytree(ROOT / "config", workdir / "config")
    with busy_core():
        slurm = snakemake(workdir, "--profile", str(ROOT / "profiles" / "slurm"),
                          "--default-resources", "slurm_partition=debug", "mem_mb=1000", "runtime=10",
                          "--set-resources", "train:slurm_partition=debug", "--set-threads", "train=1", "generate=1",
                          "--slurm-no-account", "--slurm-status-command", "squeue",
                          "--slurm-init-seconds-before-status-checks", "1")
    jobs = re.findall(r"Job \d+ has been submitted with SLURM jobid (\d+)", slurm.stderr)
    submitted = re.findall(r"/slurm_logs/rule_(\w+)/", slurm.stderr)
    ran_here = re.findall(r"^localrule (\w+):", slurm.stderr, re.MULTILINE)
    local = (quick_run / "snakemake.err").read_text()
    # every job of the local run ran once, each one that computes submitted with sbatch
    ran = re.findall(r"^(?:local)?rule (\w+):", local, re.MULTILINE)
    assert collections.Counter(submitted + ran_here) == collections.Counter(ran)
    # the bookkeeping ran here: the table's local steps (sincvae.plan.jobs.STEPS), and nothing else
    assert set(ran_here) == ({rule for rule, step in STEPS.items() if step.local} | {"all"}) & set(ran)
    assert {"train", "ablation", "ablation_continued", "train_grid_point", "tune", "generate", "solve_exact",
            "notebook", "plot_dataset"} <= set(submitted) and len(jobs) == len(submitted)
    steps = re.search(r"(\d+) of \1 steps \(100%\) done", local).group(1)
    assert f"{steps} of {steps} steps (100%) done" in slurm.stderr
    completed = Path("/var/log/slurm/jobcomp.log")  # the cluster's own record (JobCompType=jobcomp/filetxt)
    if completed.exists():
        states = dict(re.findall(r"JobId=(\d+) .*?JobState=(\w+)", completed.read_text()))
        assert all(states.get(job) == "COMPLETED" for job in jobs)
    metrics = sorted(p.relative_to(workdir) for p in (workdir / "results").rglob("*metrics.json"))
    assert metrics == sorted(p.relative_to(quick_run) for p in (quick_run / "results").rglob("*metrics.json"))
    # each seed's and each case's of the comparison, the ablations and the grid (first seed), and the exact solutions'
    study = plan(QUICK_STUDY)
    assert len(metrics) == len(QUICK_STUDY["datasets"]) * (
        2 * len(study.comparison + study.ablation + study.grid_jobs) + 1)
    for path in metrics:
        assert (workdir / path).read_bytes() == (quick_run / path).read_bytes(), path
