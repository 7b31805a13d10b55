"""The cluster profiles plan every job with the right resources (dry runs: no cluster needed)."""

import shutil
import subprocess
import sys
from collections import Counter

import yaml

from conftest import ROOT, dry_run_blocks
from sincvae.plan.planning import plan

CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
PLAN = plan(CONFIG)  # every case (comparison, grid, tuned, ablations) with its seeds
DATASETS = len(CONFIG["datasets"])
# One job per case and dataset for all its seeds, and one that scores it. A case whose method
# learns trains and generates in one job (rule train); nearest neighbours, prior lines and the
# posterior learn nothing (rule generate). Grid points: rules *_grid_point; ablation levels: one
# job each, rule ablation_continued for those a longer epochs level continues.
COMPARED = [c for c in PLAN.cases if c not in PLAN.ablation and c not in PLAN.grid]
CASE_JOBS = DATASETS * len(COMPARED)
TRAIN_JOBS = DATASETS * len([c for c in PLAN.learned if c in COMPARED])
GENERATE_JOBS = CASE_JOBS - TRAIN_JOBS
CONTINUED_JOBS = DATASETS * len(set(PLAN.continued_from.values()))
ABLATION_JOBS = DATASETS * len(PLAN.ablation) - CONTINUED_JOBS


def dry_run(tmp_path, profile: str, *args: str) -> tuple[list[dict], str]:
    """Plan the default study with a profile; returns each job's rule and resources, and the log."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
         "--profile", str(ROOT / "profiles" / profile), "--dry-run", *args],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    jobs = [{"rule": rule, **dict(kv.split("=", 1) for kv in fields["resources"].split(", "))}
            for rule, fields in dry_run_blocks(result.stdout) if "resources" in fields]
    return jobs, result.stderr


def test_slurm_profile_asks_for_a_gpu_per_training_job(tmp_path):
    jobs, log = dry_run(tmp_path, "slurm", "--config", "device=cuda")
    # no limit on computing jobs at once: SLURM queues what its nodes cannot run yet
    assert "computing jobs at once" not in log and "Provided resources: cpu" not in log
    counts = Counter(job["rule"] for job in jobs)
    assert counts["train"] == TRAIN_JOBS and counts["generate"] == GENERATE_JOBS > 0
    # each run job's lines scored in a job of its own, on CPU
    assert counts["score"] == DATASETS * len(PLAN.runs)
    assert counts["ablation_continued"] == CONTINUED_JOBS and counts["ablation"] == ABLATION_JOBS
    assert counts["train_grid_point"] == DATASETS * len(PLAN.grid)
    for job in jobs:
        assert job["slurm_account"] == "<account>" and int(job["runtime"]) >= 5
        if job["rule"] in ("train", "train_grid_point", "ablation", "ablation_continued", "generate"):
            assert job["gpu"] == "1" and int(job["mem_mb"]) >= 1500
        if job["rule"] == "score":
            assert "gpu" not in job
    assert all(job["gpu_model"].startswith("<") for job in jobs if job["rule"] == "train")


def test_slurm_profile_on_cpu_asks_for_no_gpu(tmp_path):
    jobs, _ = dry_run(tmp_path, "slurm", "--config", "device=cpu")
    assert {job["gpu"] for job in jobs if job["rule"] == "train"} == {"0"}


def test_kubernetes_profile_plans_every_job_through_storage(tmp_path):
    jobs, _ = dry_run(tmp_path, "kubernetes")
    counts = Counter(job["rule"] for job in jobs)
    assert counts["train"] == TRAIN_JOBS and counts["solve_exact"] == len(CONFIG["datasets"])
    assert all(int(job["mem_mb"]) >= 1000 and int(job["runtime"]) >= 5 for job in jobs)
