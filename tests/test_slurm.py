"""The pipeline through a real SLURM cluster: snakemake-executor-plugin-slurm submits every job
to the one-node cluster that .ci/start-slurm starts (CI runs it; elsewhere this skips without
SLURM), with the project's profile and its placeholders overridden on the command line. The
local run beside it runs under load (a busy process on one core), and every metrics file of
the two must be the same bytes.

Every kind of job that trains, generates or scores runs, on one dataset of the quick study:
a training-free and a trained case, two ablation levels (one continues the shared center), a
grid point, and the search with its tuned case (about 20 jobs, a few minutes: each SLURM job
starts its own Snakemake). The whole quick study through SLURM took 9 min 54 s on a 2-core
machine (docs/cluster.md), its 138 metrics files byte-identical to a local run's; too long for
every CI run.
"""

import os
import re
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import ROOT

SLURM = shutil.which("sbatch") and subprocess.run(["sinfo", "-h"], capture_output=True).returncode == 0
pytestmark = pytest.mark.skipif(not SLURM and not os.environ.get("CI"),
                                reason="no SLURM here (.ci/start-slurm starts a one-node cluster, as CI does)")

CASES = ["prior-lines", "final-l1mean-b1.1-wx0.6-wy0.6-z110", "ablation-fixed-beta0.5", "ablation-fixed-epochs25",
         "grid_beta~0.5_wy~0.0", "tuned"]
# a grid point trains the first seed only, and writes no per-case summary
TARGETS = [f"results/data_1/{case}/{'seed0/' if case.startswith('grid_') else ''}metrics.json" for case in CASES]


@contextmanager
def busy_core():
    """A process that keeps one core busy: jobs run slower and finish in another order."""
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        spin.kill()
        spin.wait()


def run(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    shutil.copytree(ROOT / "config", workdir / "config")
    result = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
                             "--directory", str(workdir), *TARGETS, *args,
                             "--configfile", str(workdir / "config" / "quick.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def test_every_kind_of_job_runs_on_slurm_with_the_same_metrics_as_locally_under_load(tmp_path):
    with busy_core():
        local = run(tmp_path / "local", "--cores", "2")
    assert "SLURM" not in local.stderr
    slurm = run(tmp_path / "slurm", "--profile", str(ROOT / "profiles" / "slurm"),
                "--default-resources", "slurm_partition=debug", "mem_mb=1000", "runtime=10",
                "--set-resources", "train:slurm_partition=debug", "--set-threads", "train=1", "generate=1",
                "--slurm-no-account", "--slurm-status-command", "squeue",
                "--slurm-init-seconds-before-status-checks", "1")
    jobs = re.findall(r"Job \d+ has been submitted with SLURM jobid (\d+)", slurm.stderr)
    rules = re.findall(r"/slurm_logs/rule_(\w+)/", slurm.stderr)
    # data (3 splits), validation, the exact solver; 2 cases, the ablation center and 2 levels, a
    # grid point, the search, the tuned case; best_setting is a local rule, which SLURM never sees
    assert sorted(set(rules)) == ["ablation", "ablation_continued", "generate", "generate_data", "solve_exact",
                                  "train", "train_grid_point", "tune", "validate_data"]
    assert len(jobs) == len(rules) == 13 and "14 of 14 steps (100%) done" in slurm.stderr
    completed = Path("/var/log/slurm/jobcomp.log")  # the cluster's own record (JobCompType=jobcomp/filetxt)
    if completed.exists():
        states = dict(re.findall(r"JobId=(\d+) .*?JobState=(\w+)", completed.read_text()))
        assert all(states.get(job) == "COMPLETED" for job in jobs)
    metrics = sorted(p.relative_to(tmp_path / "slurm") for p in (tmp_path / "slurm" / "results").rglob("metrics.json"))
    # per case and per seed (2) of the 5 cases asked for besides the grid point and of the ablation
    # center they need, and the grid point's one seed: 6 + 12 + 1
    assert len(metrics) == 19
    for path in metrics:
        assert (tmp_path / "slurm" / path).read_bytes() == (tmp_path / "local" / path).read_bytes(), path
