"""The study's cost before it runs (sincvae.plan.cost): the arithmetic, the rules it covers, and the
budget of the default and quick studies in reference epochs."""

from dataclasses import asdict, replace

import pandas as pd
import pytest
import yaml

from conftest import QUICK_STUDY, ROOT, merged
from sincvae.plan.cost import Costs, file_name, ranking_pairs, run_cost, score_cost, trial_cost, uncalibrated
from sincvae.plan.jobs import STEPS, job_table
from sincvae.plan.machine import describe_cpu
from sincvae.plan.planning import Generation, Run, plan
from sincvae.plan.schedule import plan_line, schedule, simulate

CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
CALIBRATED = Costs.calibrated(ROOT / "config" / "costs")  # one per machine the study was measured on
COSTS = CALIBRATED[0]
CORES = 2  # this project's machines: `snakemake --cores 8` runs 2 computing jobs at once there
# Reference epochs of simulated wall time on 2 cores (sincvae.plan.schedule), per calibrated machine (its rates differ: bf16 runs
# faster against the fp32 reference epoch on some CPUs than on others; the CPUs without bf16
# train in fp32). Each bound holds the line where the study is, so any change that makes it
# dearer fails here; lower them as the study gets cheaper, and give a newly calibrated machine
# its line. docs/runtime.md has the studies measured against their plans; the default study's
# seeds are those its decisions need (config/config.yaml, results/power.csv), which puts it
# above the 1,000 reference epochs once asked for (docs/runtime.md "Budget").
BUDGETS = {  # machine -> (default, quick)
    "AMD EPYC, 2 cores, avx512_bf16 (no AMX)": (1776, 93),
    "AMD EPYC, 2 cores, no bf16": (2317, 94),
    "Intel(R) Xeon(R) Processor, 2 cores, amx_bf16, avx512_bf16": (1484, 95),
    "Intel(R) Xeon(R) Processor @ 2.00GHz, 2 cores, no bf16": (2461, 95),
}
# The original study's scale on a cluster (config/paper.yaml over config/config.yaml).
PAPER = merged(CONFIG, yaml.safe_load((ROOT / "config" / "paper.yaml").read_text()))


def study_wall(config: dict, costs: Costs) -> float:
    return schedule(config, costs, CORES)[0].wall


@pytest.mark.parametrize("costs", CALIBRATED, ids=lambda c: c.cpu)
def test_the_default_study_is_planned_within_its_budget_on_every_calibrated_machine(costs):
    assert study_wall(CONFIG, costs) <= BUDGETS[costs.cpu][0]


@pytest.mark.parametrize("costs", CALIBRATED, ids=lambda c: c.cpu)
def test_the_quick_study_is_planned_within_its_budget_on_every_calibrated_machine(costs):
    assert study_wall(QUICK_STUDY, costs) <= BUDGETS[costs.cpu][1]


@pytest.mark.parametrize("costs", CALIBRATED, ids=lambda c: c.cpu)
def test_a_cluster_runs_the_paper_scale_study_near_its_cpu_over_64_cores(costs):
    """Its costly cases' seeds split over jobs (max_job_share), the schedule of 64 cores is within
    a quarter of the CPU spread evenly over them; unsplit, one case's job bound it."""
    planned = schedule(PAPER, costs, 64, cluster=True)[0]
    assert planned.wall <= 1.25 * planned.cpu / 64
    unsplit = schedule(merged(PAPER, {"max_job_share": 1}), costs, 64, cluster=True)[0]
    assert unsplit.wall > 1.25 * unsplit.cpu / 64


@pytest.mark.parametrize("costs", CALIBRATED, ids=lambda c: c.cpu)
def test_eight_cores_run_the_default_study_near_its_cpu_over_8(costs):
    planned = schedule(CONFIG, costs, 8)[0]
    assert planned.wall <= 1.15 * planned.cpu / 8


def test_every_cost_file_is_named_for_its_machine():
    assert sorted(file_name(c.cpu) for c in CALIBRATED) == sorted(p.name for p in (ROOT / "config" / "costs").iterdir())


INTEL = "model name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
AMD = "model name\t: AMD EPYC\nflags\t\t: fpu avx2 avx512f avx512_bf16\n"
AVX2 = "model name\t: AMD EPYC\nflags\t\t: fpu avx2 fma\n"


def test_a_machine_is_described_by_its_model_cores_and_bf16_instructions():
    assert describe_cpu(INTEL, 2) == "Intel(R) Xeon(R) Processor, 2 cores, amx_bf16, avx512_bf16"
    assert describe_cpu(AMD, 2) == "AMD EPYC, 2 cores, avx512_bf16 (no AMX)"
    assert describe_cpu(AVX2, 4) == "AMD EPYC, 4 cores, no bf16"
    assert describe_cpu("", 1) == "unknown CPU, 1 cores, no bf16"


def test_a_plan_takes_its_machines_rates_else_those_of_the_same_bf16_instructions(tmp_path):
    for cpu in ("AMD EPYC, 2 cores, avx512_bf16 (no AMX)", "Intel(R) Xeon(R) Processor, 2 cores, amx_bf16, avx512_bf16"):
        rates = {**asdict(COSTS), "cpu": cpu, "reference_epoch_s": len(cpu)}
        (tmp_path / file_name(cpu)).write_text(yaml.safe_dump(rates))
    amd = Costs.for_machine(tmp_path, describe_cpu(AMD, 2))
    assert amd.cpu == "AMD EPYC, 2 cores, avx512_bf16 (no AMX)"
    # another model with AMX takes the Intel file; 4 cores of the AMD CPU take the AMD file
    assert Costs.for_machine(tmp_path, "Some CPU, 2 cores, amx_bf16, avx512_bf16").cpu.startswith("Intel")
    assert Costs.for_machine(tmp_path, describe_cpu(AMD, 4)).cpu == amd.cpu
    assert Costs.for_machine(tmp_path, describe_cpu(AVX2, 2)).cpu == amd.cpu  # none without bf16: the first file
    with pytest.raises(FileNotFoundError, match="no cost files"):
        Costs.for_machine(tmp_path / "nothing", amd.cpu)


RATES = Costs(cpu="test", reference_epoch_s=1.0, calibrated_on="test",
              startup={"train": 2.0, "train_grid_point": 1.0, "score": 0.5}, train={"cvae": 0.5}, generate={"cvae": 0.1},
              refine=0.01, score=0.2, score_external=1.5, solve=1.0, trial_share=0.5, rank=0.5,
              rules={"report": 3.0})
CASE = {"method": "cvae", "epochs": 10}


def test_a_run_costs_its_training_drawing_and_refinement_and_its_score_job_the_scoring():
    rows = {"train": 5000, "validation": 100, "scoring": 50}
    run = Run(CASE, (0, 1), (("scoring", None), ("validation", 20)), Generation(30, 4, 2, 1e-4))
    # 2 seeds × 10 epochs × half a reference set × 0.5; 2 × (50 + 20) rows × 60 candidates drawn,
    # each refined 4 steps; 2 × 70 rows × 30 lines scored raw and refined
    drawn, scored = 2 * 70 * 60, 2 * 70 * 30 * 2
    assert run_cost(run, RATES, rows) == pytest.approx(2 * 10 * 0.5 * 0.5 + drawn / 1000 * 0.1 + drawn * 4 / 1000 * 0.01)
    assert score_cost(run, RATES, rows) == pytest.approx(0.5 + scored / 1000 * 0.2)
    # a search trial scores its own lines in the search's process, with no start-up of its own
    assert trial_cost(run, RATES, rows) == pytest.approx(run_cost(run, RATES, rows) + scored / 1000 * 0.2)
    # a run that continues a 4-epoch run trains its last 6 epochs only
    assert run_cost(run, RATES, rows, epochs_done=4) == pytest.approx(run_cost(run, RATES, rows) - 2 * 4 * 0.5 * 0.5)
    raw = Run(CASE, (0,), (("scoring", None),), Generation(30))
    assert run_cost(raw, RATES, rows) == pytest.approx(10 * 0.25 + 50 * 30 / 1000 * 0.1)
    assert score_cost(raw, RATES, rows) == pytest.approx(0.5 + 50 * 30 / 1000 * 0.2)


def test_the_plan_prices_each_job_of_its_rule():
    """A training job: its rule's start-up and its run; the search: its trials at their share
    of a full run, on its workers' threads on a cluster node, on fewer than a machine's cores."""
    reference = next(row for row in CONFIG["cases"] if row["case"] == CONFIG["reference_case"])
    config = merged(CONFIG, {"cases": [reference], "ablations": None, "report": {"inspect_cases": []},
                             "tuning": {"grid": {"beta": [reference["beta"]]}, "trials": 4, "workers": 2}})
    study = plan(config)
    jobs = pd.DataFrame(job_table(study, config, RATES)).set_index(["rule", "dataset", "case"])
    rows = config["data"]["rows"]
    train = jobs.loc[("train", "data_1", reference["case"]), "ref"]
    assert train == pytest.approx(2.0 + run_cost(study.runs[reference["case"]], RATES, rows))
    scored = jobs.loc[("score", "data_1", reference["case"]), "ref"]
    assert scored == pytest.approx(score_cost(study.runs[reference["case"]], RATES, rows))
    tune = jobs.xs("tune", level="rule")
    assert tune["ref"].iloc[0] == pytest.approx(2.0 + 4 * 0.5 * trial_cost(study.search, RATES, rows))
    assert (tune["threads"] == 2).all()
    on_two_cores = pd.DataFrame(job_table(study, config, RATES, cores=2)).set_index("rule")
    assert (on_two_cores.loc["tune", "threads"] == 1).all()
    assert (on_two_cores.loc["tune", "ref"] == tune["ref"].iloc[0]).all()
    point = jobs.xs("train_grid_point", level="rule")  # wy 0.0 and 0.6 on each dataset, the first seed
    assert len(point) == 4 and point["ref"].iloc[0] == pytest.approx(
        1.0 + run_cost(study.runs[point.index[0][1]], RATES, rows))
    assert jobs.xs("report", level="rule")["ref"].tolist() == [3.0]


def test_the_train_splits_solutions_are_planned_when_a_case_trains_towards_them():
    """Rule solve_train (one job per dataset) runs only for a case with targets: solutions, and
    costs the exact solver's job (on the scored rows) plus its rate per 1,000 train rows past those."""
    reference = next(row for row in CONFIG["cases"] if row["case"] == CONFIG["reference_case"])
    base = {"ablations": None, "tuning": None, "report": {"inspect_cases": [reference["case"]]}}
    without = merged(CONFIG, {**base, "cases": [reference]})
    assert "solve_train" not in {job["rule"] for job in job_table(plan(without), without, COSTS)}
    towards = {"case": "branches", "method": "branches", "targets": "solutions"}
    config = merged(CONFIG, {**base, "cases": [reference, towards]})
    solved = pd.DataFrame(job_table(plan(config), config, COSTS)).query("rule == 'solve_train'")
    assert sorted(solved["dataset"]) == sorted(CONFIG["datasets"])
    scored = CONFIG["data"]["rows"]["scoring"] + CONFIG["evaluate"]["validation_rows"]
    expected = COSTS.rules["solve_exact"] + (CONFIG["data"]["rows"]["train"] - scored) / 1000 * COSTS.solve
    assert solved["ref"].tolist() == pytest.approx([expected] * len(CONFIG["datasets"]))


def test_a_rule_no_calibration_measured_is_priced_at_its_steps_estimate():
    """A new rule has no rate in any costs file until a study measures it: the plan prices its
    jobs at the estimate of its entry in the table of jobs, never as free."""
    config = merged(CONFIG, {"tuning": None, "ablations": None})
    jobs = pd.DataFrame(job_table(plan(config), config, replace(COSTS, rules={"report": 3.0})))
    assert jobs.loc[jobs["rule"] == "report", "ref"].tolist() == [3.0]
    notebooks = jobs.loc[jobs["rule"] == "notebook", "ref"]
    assert len(notebooks) == len(CONFIG["datasets"]) and (notebooks == STEPS["notebook"].estimate).all()
    assert (jobs["ref"] > 0).all()


def test_a_method_without_a_rate_is_priced_at_an_estimate_and_named():
    """A method no calibration has measured (a new one) stops nothing: its jobs cost the largest
    calibrated rate of each kind, are marked estimated, and the plan line says how many."""
    reference = next(row for row in CONFIG["cases"] if row["case"] == CONFIG["reference_case"])
    config = merged(CONFIG, {"cases": [reference, {"case": "flow-only", "method": "flow"}], "tuning": None,
                             "ablations": None, "report": {"inspect_cases": []}})
    study = plan(config)
    assert uncalibrated(study, RATES) == ["flow"]
    jobs = pd.DataFrame(job_table(study, config, RATES))
    flow = jobs[jobs["case"] == "flow-only"]
    assert flow["estimated"].all() and not jobs.loc[jobs["case"] == reference["case"], "estimated"].any()
    alike = replace(RATES, train={**RATES.train, "flow": max(RATES.train.values())},
                    generate={**RATES.generate, "flow": max(RATES.generate.values())})
    priced = pd.DataFrame(job_table(study, config, alike))
    assert flow["ref"].tolist() == pytest.approx(priced.loc[priced["case"] == "flow-only", "ref"].tolist())
    assert not priced.loc[priced["case"] == "flow-only", "estimated"].any()
    priced = job_table(study, config, RATES)
    line = plan_line(simulate([{**job, "priority": 0} for job in priced], {}, 2), priced, RATES, "test")
    assert f"{int(jobs['estimated'].sum())} of them priced at an estimate" in line


def test_the_ranking_is_priced_by_the_pairs_it_compares():
    """Two cvae cases (forward loss), the flow and nearest neighbours (nothing), the posterior (a
    reference, not ranked): 6 pairs over all four, 1 within each class of two; per dataset, per
    stage (raw and refined), once and once per resample."""
    reference = next(row for row in CONFIG["cases"] if row["case"] == CONFIG["reference_case"])
    cases = [reference, {"case": "c2", "loss": "l1_mean", "beta": 0, "wx": 1, "wy": 0},
             {"case": "flow-only", "method": "flow"}, {"case": "nearest", "method": "nearest"},
             {"case": "ideal", "method": "posterior"}]
    config = merged(CONFIG, {"cases": cases, "tuning": None, "ablations": None, "report": {"inspect_cases": []},
                             "ranking": {"resamples": 9}})
    assert ranking_pairs(plan(config), config) == 2 * 2 * 10 * (6 + 1 + 1)
    rates = replace(RATES, startup={**RATES.startup, "generate": 1.0}, train={**RATES.train, "flow": 1.0},
                                generate={**RATES.generate, "flow": 0.1, "nearest": 0.1, "posterior": 0.1})
    jobs = job_table(plan(config), config, rates)
    assert [job["ref"] for job in jobs if job["rule"] == "rank_methods"] == [pytest.approx(320 / 1000 * RATES.rank)]
