"""Calibration of the plan's rates (sincvae.plan.calibration): the rates fitted from a recorded
study's measured jobs, refusals of a rate at or below zero, the probe of a machine's training."""

from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import QUICK_STUDY, ROOT
from sincvae.plan.calibration import fit, main, read_measured, write_measured
from sincvae.plan.cost import Costs, file_name, ranking_pairs, time_limit_minutes
from sincvae.plan.jobs import job_table
from sincvae.plan.measured import search_processes
from sincvae.plan.planning import RUN_FAMILIES, plan

CALIBRATED = Costs.calibrated(ROOT / "config" / "costs")
COSTS = CALIBRATED[0]


def test_a_probe_writes_this_machines_training_rates_and_keeps_the_others(tmp_path, monkeypatch):
    """python -m sincvae.plan.calibration probe on a machine without a file: training rates of the probed
    methods in reference epochs (seconds over the reference epoch's median, before and after),
    every other rate from the nearest calibrated machine; a second probe keeps the first's."""
    import sincvae.budget

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


def test_a_search_without_its_processes_is_named(tmp_path):
    search = tmp_path / "search.csv"
    search.write_text("trial,state,study,processes\n0,COMPLETE,s,2\n1,PRUNED,s,2\n")
    assert search_processes(search) == 2
    search.write_text("trial,state,study\n0,COMPLETE,s\n")
    with pytest.raises(ValueError, match=f"{search}: no 'processes' column"):
        search_processes(search)


# A quick study's measured jobs in seconds (`python -m sincvae.plan.calibration calibrate --save-measured`,
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
    ranked = frame[frame["rate"] == "rank"]  # its pairs of cases: ranking.ranking's work
    assert rates["rank"] == pytest.approx(ranked["seconds"].sum() / ranked["size"].sum() * 1000 / reference_epoch_s,
                                          abs=5e-6)
    assert ranked["size"].tolist() == [ranking_pairs(plan(QUICK_STUDY), QUICK_STUDY)]
    for rule, part in frame[frame["rate"] == "rule"].groupby("key"):
        assert rates["rules"][rule] == pytest.approx(part["seconds"].mean() / reference_epoch_s, abs=5e-4)
    assert len(frame.query("rate == 'rule' and key == 'generate_data'")) == 3  # a job per split


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
    with pytest.raises(SystemExit, match=r"^python -m sincvae.plan.calibration calibrate: costs: rate solve = .*no costs file written$"):
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
    job_seconds = frame[frame["rate"].isin(["train", "generate", "refine", "score", "startup", "trials"])].groupby(
        frame["job"].str.split("/").str[0])["seconds"].sum()
    for rule in ("train", "generate", "ablation", "train_grid_point", "tune"):
        assert planned.loc[planned["rule"] == rule, "ref"].sum() * MEASURED_REFERENCE_EPOCH_S == pytest.approx(
            job_seconds[rule], rel=0.25), rule


def test_each_recorded_job_is_within_half_its_cluster_time_limit():
    """A cluster kills a job at its time limit (common.smk: time_limit_minutes of its plan): the
    limit from rates fitted on a study leaves each of its jobs twice the time it took."""
    costs = Costs(**recorded_rates())
    jobs = {f"{j['rule']}/{j['dataset']}/{j['case']}": j for j in job_table(plan(QUICK_STUDY), QUICK_STUDY, costs)
            if j["rule"] in RUN_FAMILIES}
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
