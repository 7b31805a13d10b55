"""The pipeline through a real SLURM cluster: snakemake-executor-plugin-slurm submits every job
to the one-node cluster that .ci/start-slurm starts (CI runs it; elsewhere this skips without
SLURM), with the project's profile and its placeholders overridden on the command line. A
subset of the quick study (one dataset: data, validation, exact solutions, one training-free
and one trained case, 7 jobs) keeps it to a couple of minutes: the plugin polls with a
back-off of 10 s per check that sees no job finish."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

SLURM = shutil.which("sbatch") and subprocess.run(["sinfo", "-h"], capture_output=True).returncode == 0
pytestmark = pytest.mark.skipif(not SLURM and not os.environ.get("CI"),
                                reason="no SLURM here (.ci/start-slurm starts a one-node cluster, as CI does)")

TARGETS = ["results/data_1/prior-lines/metrics.json", "results/data_1/final-l1mean-b1.1-wx0.6-wy0.6-z110/metrics.json"]
# Per-seed and per-case metrics: the same config gives the same bytes on the same machine.
METRICS = [*TARGETS, *(f"results/data_1/{case}/seed{seed}/metrics.json" for seed in (0, 1)
                       for case in ("prior-lines", "final-l1mean-b1.1-wx0.6-wy0.6-z110"))]


def run(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    shutil.copytree(ROOT / "config", workdir / "config")
    result = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
                             "--directory", str(workdir), *TARGETS, *args,
                             "--configfile", str(workdir / "config" / "quick.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def test_the_quick_study_runs_on_slurm_with_the_same_metrics_as_locally(tmp_path):
    local = run(tmp_path / "local", "--cores", "2")
    assert "SLURM" not in local.stderr
    slurm = run(tmp_path / "slurm", "--profile", str(ROOT / "profiles" / "slurm"),
                "--default-resources", "slurm_partition=debug", "mem_mb=1000", "runtime=10",
                "--set-resources", "train:slurm_partition=debug", "--set-threads", "train=1", "generate=1",
                "--slurm-no-account", "--slurm-status-command", "squeue",
                "--slurm-init-seconds-before-status-checks", "1")
    jobs = re.findall(r"Job \d+ has been submitted with SLURM jobid (\d+)", slurm.stderr)
    # data (3 splits), validation, the exact solver; each case's run (train or generate), which scores it
    assert len(jobs) == 7 and "7 of 7 steps (100%) done" in slurm.stderr
    completed = Path("/var/log/slurm/jobcomp.log")  # the cluster's own record (JobCompType=jobcomp/filetxt)
    if completed.exists():
        states = dict(re.findall(r"JobId=(\d+) .*?JobState=(\w+)", completed.read_text()))
        assert all(states.get(job) == "COMPLETED" for job in jobs)
    for path in METRICS:
        assert (tmp_path / "slurm" / path).read_bytes() == (tmp_path / "local" / path).read_bytes(), path
