import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sincvae.problem.forward import ForwardMap
from sincvae.plan.planning import merged, without_removed  # noqa: F401 (merged: the tests import it from here)

ROOT = Path(__file__).resolve().parents[1]
SEED_SCORING = ROOT.parent / "shared" / "seed" / "data" / "scoring_dataset.pt"
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]


# config/quick.yaml over config/config.yaml, as the pipeline reads it
QUICK_STUDY = without_removed(merged(*(yaml.safe_load((ROOT / "config" / name).read_text())
                                       for name in ("config.yaml", "quick.yaml"))))


@pytest.fixture(scope="session")
def config():
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


@pytest.fixture(scope="session")
def data_1(config):
    return ForwardMap.from_config(config["datasets"]["data_1"])


@pytest.fixture(scope="session")
def data_2(config):
    return ForwardMap.from_config(config["datasets"]["data_2"])


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [*SNAKEMAKE, "--directory", str(workdir), "--configfile", str(workdir / "config" / "quick.yaml"), *args],
        capture_output=True, text=True,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return result


def workflow_copy(tmp_path: Path) -> Path:
    """A copy of the repository without its outputs, for a test that adds to the workflow."""
    copy = tmp_path / "copy"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".git", ".venv", "results", "logs", "benchmarks",
                                                              ".snakemake", "__pycache__", "*.egg-info"))
    return copy


def add_to(path: Path, anchor: str, added: str) -> None:
    """Write `added` into a copied file right after `anchor`, which must occur once there."""
    text = path.read_text()
    assert text.count(anchor) == 1, f"{path}: the anchor {anchor!r} moved"
    path.write_text(text.replace(anchor, anchor + added))


def snakemake_in(copy: Path, *args: str, overlays: tuple[Path, ...] = ()) -> subprocess.CompletedProcess:
    """Snakemake on a workflow copy's quick study, importing the copy's library, not the installed one."""
    env = {**os.environ, "PYTHONPATH": str(copy / "workflow")}
    return subprocess.run([sys.executable, "-m", "snakemake", "--directory", str(copy), *args,  # config last:
                           "--configfile", str(copy / "config" / "quick.yaml"), *map(str, overlays)],  # it takes many
                          capture_output=True, text=True, env=env, cwd=copy)


def dry_run_blocks(stdout: str) -> list[tuple[str, dict[str, str]]]:
    """A Snakemake dry run's jobs: each one's rule and its fields (input, output, wildcards,
    resources, ...) as printed."""
    blocks = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", stdout):
        head = re.match(r"(?:local)?rule (\w+):", block)
        if head:
            blocks.append((head.group(1), dict(re.findall(r"^    (\w+): (.*)$", block, re.M))))
    return blocks


def new_workdir(tmp_path_factory, name: str) -> Path:
    workdir = tmp_path_factory.mktemp(name)
    shutil.copytree(ROOT / "config", workdir / "config")
    return workdir


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """The quick study (config/quick.yaml) run once for the session, as the README's main
    command runs: the pipeline tests read it, and the SLURM test compares its run with it."""
    workdir = new_workdir(tmp_path_factory, "quick")
    result = snakemake(workdir, "--cores", "8")  # as the README's main command
    (workdir / "snakemake.err").write_text(result.stderr)
    return workdir
