"""The study's cost before it runs (sincvae.cost): the arithmetic, the rules it covers, and the
budget of the default and quick studies in reference epochs."""

import re
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import QUICK_STUDY, ROOT, merged
from sincvae.cost import (RUN_RULES, SIZED, Costs, _search_processes, file_name, fit, job_table, main,
                          read_measured, run_cost, time_limit_minutes, wall_ref, write_measured)
from sincvae.machine import describe_cpu
from sincvae.planning import Generation, Run, plan

CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
CALIBRATED = Costs.calibrated(ROOT / "config" / "costs")  # one per machine the study was measured on
COSTS = CALIBRATED[0]
CORES = 2  # this project's machines: `snakemake --cores 8` runs 2 computing jobs at once there
# Reference epochs of wall time on 2 cores, per calibrated machine (its rates differ: bf16 runs
# faster against the fp32 reference epoch on some CPUs than on others; the CPUs without bf16
# train in fp32). Each bound holds the line where the study is, so any change that makes it
# dearer fails here; lower them as the study gets cheaper, and give a newly calibrated machine
# its line. docs/runtime.md has the studies measured against their plans.
BUDGETS = {  # machine -> (default, quick)
    "AMD EPYC, 2 cores, avx512_bf16 (no AMX)": (1505, 83),
    "AMD EPYC, 2 cores, no bf16": (1966, 84),
    "Intel(R) Xeon(R) Processor, 2 cores, amx_bf16, avx512_bf16": (1235, 76),
    "Intel(R) Xeon(R) Processor @ 2.00GHz, 2 cores, no bf16": (2090, 85),
}


def study_wall(config: dict, costs: Costs) -> float:
    return wall_ref(job_table(plan(config), config, costs, CORES), CORES)


@pytest.mark.parametrize("costs", CALIBRATED, ids=lambda c: c.cpu)
def test_the_default_study_is_planned_within_its_budget_on_every_calibrated_machine(costs):
    assert study_wall(CONFIG, costs) <= BUDGETS[costs.cpu][0]


@pytest.mark.parametrize("costs", CALIBRATED, ids=lambda c: c.cpu)
def test_the_quick_study_is_planned_within_its_budget_on_every_calibrated_machine(costs):
    assert study_wall(QUICK_STUDY, costs) <= BUDGETS[costs.cpu][1]


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
              startup={"train": 2.0, "train_grid_point": 1.0}, train={"cvae": 0.5}, generate={"cvae": 0.1},
              refine=0.01, score=0.2, score_external=1.5, solve=1.0, trial_share=0.5,
              rules={"report": {"per": "study", "jobs": 1, "ref": 3.0}})
CASE = {"method": "cvae", "epochs": 10}


def test_a_run_costs_its_training_drawing_refinement_and_scoring():
    rows = {"train": 5000, "validation": 100, "scoring": 50}
    run = Run(CASE, (0, 1), (("scoring", None), ("validation", 20)), Generation(30, 4, 2, 1e-4))
    # 2 seeds × 10 epochs × half a reference set × 0.5; 2 × (50 + 20) rows × 60 candidates drawn,
    # each refined 4 steps; 2 × 70 rows × 30 lines scored raw and refined
    drawn, scored = 2 * 70 * 60, 2 * 70 * 30 * 2
    assert run_cost(run, RATES, rows) == pytest.approx(2 * 10 * 0.5 * 0.5 + drawn / 1000 * 0.1
                                                       + drawn * 4 / 1000 * 0.01 + scored / 1000 * 0.2)
    # a run that continues a 4-epoch run trains its last 6 epochs only
    assert run_cost(run, RATES, rows, epochs_done=4) == pytest.approx(run_cost(run, RATES, rows) - 2 * 4 * 0.5 * 0.5)
    raw = Run(CASE, (0,), (("scoring", None),), Generation(30))
    assert run_cost(raw, RATES, rows) == pytest.approx(10 * 0.25 + 50 * 30 / 1000 * 0.1 + 50 * 30 / 1000 * 0.2)


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
    tune = jobs.xs("tune", level="rule")
    assert tune["ref"].iloc[0] == pytest.approx(2.0 + 4 * 0.5 * run_cost(study.search, RATES, rows))
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
    expected = COSTS.rules["solve_exact"]["ref"] + (CONFIG["data"]["rows"]["train"] - scored) / 1000 * COSTS.solve
    assert solved["ref"].tolist() == pytest.approx([expected] * len(CONFIG["datasets"]))


def test_the_wall_time_is_the_cpu_over_the_cores_or_the_longest_job():
    jobs = [{"ref": ref, "threads": threads} for ref, threads in [(10.0, 1), (10.0, 1), (10.0, 1), (4.0, 2)]]
    assert wall_ref(jobs, 2) == 17.0
    assert wall_ref(jobs, 8) == 10.0  # one job of 10 cannot be split


def test_every_rule_of_the_workflow_is_priced():
    """A new rule must get a rate (a calibrated study's benchmark, or a size the plan computes),
    or the plan would call it free."""
    text = "\n".join(p.read_text() for p in (ROOT / "workflow" / "rules").glob("*.smk"))
    rules = set(re.findall(r"^rule (\w+):", text, flags=re.M)) | set(re.findall(r"^use rule \w+ as (\w+)", text,
                                                                                 flags=re.M))
    # never in a study's DAG: failures on unknown targets; the throughput benchmark, asked for by name
    not_run = {"unknown_case", "unknown_dataset", "throughput"}
    assert rules - not_run - {"all"} <= SIZED | set(COSTS.rules), rules - not_run - SIZED - set(COSTS.rules)


def test_a_method_without_a_rate_is_named():
    reference = next(row for row in CONFIG["cases"] if row["case"] == CONFIG["reference_case"])
    config = merged(CONFIG, {"cases": [reference, {"case": "flow-only", "method": "flow"}], "tuning": None,
                             "ablations": None, "report": {"inspect_cases": []}})
    with pytest.raises(KeyError, match="no train rate for method 'flow'"):
        job_table(plan(config), config, RATES)


def test_a_probe_writes_this_machines_training_rates_and_keeps_the_others(tmp_path, monkeypatch):
    """python -m sincvae.cost probe on a machine without a file: training rates of the probed
    methods in reference epochs (seconds over the reference epoch's median, before and after),
    every other rate from the nearest calibrated machine; a second probe keeps the first's."""
    import sincvae.budget
    from sincvae.cost import main

    costs = tmp_path / "costs"
    costs.mkdir()
    for calibrated in CALIBRATED:
        (costs / file_name(calibrated.cpu)).write_text(yaml.safe_dump(asdict(calibrated)))
    monkeypatch.setattr(sincvae.budget, "training_seconds",
                        lambda study, config, epochs, log: {"cvae": (6.0, 3.0), "flow": (8.0, 2.0)})
    cpu = "Some CPU, 2 cores, no bf16"
    argv = ["probe", "--config", str(ROOT / "config" / "config.yaml"), "--cpu", cpu, "--costs", str(costs)]
    main(argv)
    probed = Costs.load(costs / file_name(cpu))
    nearest = Costs.for_machine(ROOT / "config" / "costs", cpu)
    # each method over the reference epoch timed around it; the file's reference epoch their median
    assert probed.cpu == cpu and probed.reference_epoch_s == 2.5
    assert probed.train == {**nearest.train, "cvae": 2.0, "flow": 4.0}
    assert (probed.startup, probed.generate, probed.rules) == (nearest.startup, nearest.generate, nearest.rules)
    # the rates it kept name the machine whose finished study measured them, in the file and its header
    source = f"every other rate from a finished study on {nearest.calibrated_on}."
    assert probed.calibrated_on == nearest.calibrated_on and source in (costs / file_name(cpu)).read_text()
    monkeypatch.setattr(sincvae.budget, "training_seconds", lambda study, config, epochs, log: {"mdn": (0.6, 3.0)})
    main(argv)
    again = Costs.load(costs / file_name(cpu))
    assert again.train == {**nearest.train, "cvae": 2.0, "flow": 4.0, "mdn": 0.2}
    # a second probe carries that provenance forward instead of naming its own earlier file
    assert again.calibrated_on == nearest.calibrated_on and source in (costs / file_name(cpu)).read_text()


def test_a_search_log_without_its_processes_is_named(tmp_path):
    log = tmp_path / "data_1.log"
    log.write_text("objective validation_distance on 20 validation rows; batches of 2 trials, 2 at once\n")
    assert _search_processes(log) == 2
    log.write_text("objective validation_distance on 20 validation rows\n")
    with pytest.raises(ValueError, match=f"{log}: no 'N at once' line"):
        _search_processes(log)


# A quick study's measured jobs in seconds (`python -m sincvae.cost calibrate --save-measured`,
# from a run of config/quick.yaml as conftest.quick_run runs it): the calibration's arithmetic is
# tested on these recorded numbers, never on this machine's timing. Every rate is seconds over
# the reference epoch, so the checks below hold at any reference epoch; they fit at 1 s.
MEASURED = ROOT / "tests" / "data" / "quick_study_measured.csv"
MEASURED_REFERENCE_EPOCH_S = 1.0


def recorded_rates(records=None, reference_epoch_s=MEASURED_REFERENCE_EPOCH_S) -> dict:
    return fit(records or read_measured(MEASURED), plan(QUICK_STUDY), QUICK_STUDY, reference_epoch_s, "recorded")


def test_each_rate_is_fitted_from_what_it_scales_with():
    """Training, drawing, refinement and scoring: total seconds over total size; a run rule's
    start-up: the median of its jobs'; the exact solver: the least-squares slope of its jobs'
    seconds on the rows they solved (a difference of two jobs over one job's rows is not it);
    every other rule per job."""
    reference_epoch_s = 1.25
    rates = recorded_rates(reference_epoch_s=reference_epoch_s)
    frame = pd.DataFrame(read_measured(MEASURED))
    for method, part in frame[frame["rate"] == "train"].groupby("key"):
        assert rates["train"][method] == pytest.approx(
            part["seconds"].sum() / part["size"].sum() * 10_000 / reference_epoch_s, abs=5e-5)
    for method, part in frame[frame["rate"] == "generate"].groupby("key"):
        assert rates["generate"][method] == pytest.approx(
            part["seconds"].sum() / part["size"].sum() * 1000 / reference_epoch_s, abs=5e-6)
    scored = frame[frame["rate"] == "score"]
    assert rates["score"] == pytest.approx(scored["seconds"].sum() / scored["size"].sum() * 1000 / reference_epoch_s,
                                           abs=5e-6)
    for rule, part in frame[frame["rate"] == "startup"].groupby("key"):
        assert rates["startup"][rule] == pytest.approx(part["seconds"].median() / reference_epoch_s, abs=5e-4)
    solved = frame[frame["rate"] == "solve"]
    slope = np.polyfit(solved["size"], solved["seconds"], 1)[0]
    assert rates["solve"] == pytest.approx(slope * 1000 / reference_epoch_s, abs=5e-5)
    for rule, part in frame[frame["rate"] == "rule"].groupby("key"):
        assert rates["rules"][rule]["ref"] == pytest.approx(part["seconds"].mean() / reference_epoch_s, abs=5e-4)
    assert rates["rules"]["generate_data"] == {**rates["rules"]["generate_data"], "per": "dataset", "jobs": 3}
    assert rates["rules"]["plan"]["per"] == "study"


def test_the_solvers_rate_is_the_slope_past_its_start_up():
    """Jobs that take 2 s to start and 3 ms a row: 3 ref per 1,000 rows at a 1 s reference epoch."""
    records = [r for r in read_measured(MEASURED) if r["rate"] != "solve"]
    for rule, rows in (("solve_exact", 28), ("solve_train", 1000), ("solve_train", 400)):
        records.append({"rate": "solve", "key": rule, "dataset": "data_1", "job": f"{rule}/data_1",
                        "seconds": 2 + 0.003 * rows, "size": rows})
    assert recorded_rates(records)["solve"] == pytest.approx(3.0)


def test_a_rate_fitted_at_or_below_zero_is_refused_naming_it_and_its_jobs(tmp_path):
    """The quick study's solver jobs differ by a few seconds of start-up noise: a train split
    that solved faster than the scored rows would plan its rows as free."""
    records = read_measured(MEASURED)
    exact = next(r["seconds"] for r in records if r["key"] == "solve_exact")
    faster = [{**r, "seconds": exact / 2} if r["key"] == "solve_train" else r for r in records]
    with pytest.raises(ValueError, match=r"rate solve = -[0-9.]+ is not positive \(fitted from "
                                         r"solve_exact/data_1, solve_train/data_1\)"):
        recorded_rates(faster)
    free = [{**r, "seconds": 0.0} if r["rate"] == "train" and r["key"] == "mdn" else r for r in records]
    with pytest.raises(ValueError, match=r"rate train\.mdn = 0 is not positive \(fitted from train/data_1/mdn-"):
        recorded_rates(free)
    # the command line writes no costs file from such a table, and says why in one line
    write_measured(faster, tmp_path / "measured.csv")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(QUICK_STUDY))
    (tmp_path / "costs").mkdir()
    (tmp_path / "costs" / file_name(COSTS.cpu)).write_text(yaml.safe_dump(asdict(COSTS)))
    with pytest.raises(SystemExit, match=r"^python -m sincvae.cost calibrate: costs: rate solve = .*no costs file written$"):
        main(["calibrate", "--measured", str(tmp_path / "measured.csv"), "--reference-epoch-s", "1.0",
              "--config", str(tmp_path / "config.yaml"), "--cpu", "Test CPU", "--costs", str(tmp_path / "costs")])
    assert not (tmp_path / "costs" / file_name("Test CPU")).exists()


def test_rates_fitted_from_a_recorded_study_plan_its_run_jobs_as_they_ran(tmp_path):
    """`calibrate --measured` writes a new machine's file; with its rates the plan of that study
    gives each rule that trains, generates and scores, and the search's CPU, within 25% of the
    seconds its jobs took."""
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(QUICK_STUDY))
    (tmp_path / "costs").mkdir()
    (tmp_path / "costs" / file_name(COSTS.cpu)).write_text(yaml.safe_dump(asdict(COSTS)))
    machine = "Test CPU, 2 cores, no bf16"
    main(["calibrate", "--measured", str(MEASURED), "--reference-epoch-s", str(MEASURED_REFERENCE_EPOCH_S),
          "--config", str(tmp_path / "config.yaml"), "--cpu", machine, "--costs", str(tmp_path / "costs")])
    costs = Costs.load(tmp_path / "costs" / file_name(machine))
    assert costs.cpu == costs.calibrated_on == machine and costs.reference_epoch_s == MEASURED_REFERENCE_EPOCH_S
    planned = pd.DataFrame(job_table(plan(QUICK_STUDY), QUICK_STUDY, costs))
    frame = pd.DataFrame(read_measured(MEASURED))
    job_seconds = frame[frame["rate"].isin(["train", "generate", "refine", "score", "startup", "tune"])].groupby(
        frame["job"].str.split("/").str[0])["seconds"].sum()
    for rule in ("train", "generate", "ablation", "train_grid_point", "tune"):
        assert planned.loc[planned["rule"] == rule, "ref"].sum() * MEASURED_REFERENCE_EPOCH_S == pytest.approx(
            job_seconds[rule], rel=0.25), rule


def test_each_recorded_job_is_within_half_its_cluster_time_limit():
    """A cluster kills a job at its time limit (common.smk: time_limit_minutes of its plan): the
    limit from rates fitted on a study leaves each of its jobs twice the time it took."""
    costs = Costs(**recorded_rates())
    jobs = {f"{j['rule']}/{j['dataset']}/{j['case']}": j for j in job_table(plan(QUICK_STUDY), QUICK_STUDY, costs)
            if j["rule"] in RUN_RULES}
    frame = pd.DataFrame(read_measured(MEASURED))
    took = frame[frame["job"].isin(jobs) & (frame["rate"] != "rule")].groupby("job")["seconds"].sum()
    assert set(took.index) == set(jobs)
    for job, seconds in took.items():
        assert time_limit_minutes(jobs[job]["ref"], costs.reference_epoch_s) * 60 >= 2 * seconds, job
    assert time_limit_minutes(0.0, 1.0) == 5 and time_limit_minutes(20.0, 3.0) == 8


def test_a_measured_table_round_trips_and_a_wrong_one_is_named(tmp_path):
    records = read_measured(MEASURED)
    write_measured(records, tmp_path / "again.csv")
    assert read_measured(tmp_path / "again.csv") == records
    (tmp_path / "other.csv").write_text("rule,s\ntrain,1.0\n")
    with pytest.raises(ValueError, match=f"{tmp_path / 'other.csv'}: not a table of measured jobs"):
        read_measured(tmp_path / "other.csv")
