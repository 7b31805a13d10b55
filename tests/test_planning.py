"""The study's plan from its config, without Snakemake or torch."""

import copy
from dataclasses import asdict, replace
import re
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT
from sincvae import paths
from sincvae.plan.ablations import Claim
from sincvae.plan.cases import applicable, case_labels, grid_cases
from sincvae.plan.planning import PlanError, Run, plan, search_processes, without_removed

CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
REFERENCE = CONFIG["reference_case"]



def label(study, case: str) -> str:
    """The {seeds} of a case's one run job: all its seeds."""
    return paths.batch_label(tuple(study.seeds[case]))

def edited(**changes):
    config = copy.deepcopy(CONFIG)
    for path, value in changes.items():
        node = config
        *parents, last = path.split("__")
        for key in parents:
            node = node[key]
        node[last] = value
    return config


def imported(modules: str) -> set[str]:
    code = f"import sys, {modules}; print(' '.join(sorted(sys.modules)))"
    return set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())


def test_planning_imports_neither_torch_nor_snakemake():
    assert not {"torch", "snakemake"} & imported("sincvae.plan.planning, sincvae.decide.stats")


def test_the_bookkeeping_rules_start_without_torch():
    """aggregate_seeds, compare, loss_curves, plot_comparison, verdicts, plot_claims, findings,
    report, grid and best_setting import only these library modules."""
    assert "torch" not in imported("sincvae.plan.planning, sincvae.decide.stats, sincvae.decide.findings, sincvae.show.report, sincvae.score.summary, "
                                   "sincvae.show.plots, sincvae.learn.tuning")


def test_an_overlay_removes_a_dataset_or_a_factor_with_null():
    removed = without_removed(edited(datasets__data_2=None, ablations__factors__wy=None))
    study = plan(removed)
    assert list(removed["datasets"]) == ["data_1"]
    assert "wy" not in study.claims and "ablation-fixed-wy0.3" not in study.cases
    assert set(study.claims) == set(CONFIG["ablations"]["factors"]) - {"wy"}
    assert CONFIG["datasets"]["data_2"] and "wy" in CONFIG["ablations"]["factors"]  # the config is not changed
    everything = edited(ablations__factors={factor: None for factor in CONFIG["ablations"]["factors"]})
    with pytest.raises(PlanError, match="ablations.factors: every factor is removed"):
        without_removed(everything)


def test_the_search_leaves_a_core_to_the_other_jobs_but_on_a_node_of_its_own():
    assert [search_processes(2, cores) for cores in (1, 2, 3, 8)] == [1, 1, 2, 2]
    assert search_processes(4, None) == 4


def test_the_default_plan_has_every_case_with_its_seeds():
    study = plan(CONFIG)
    assert study.comparison == [row["case"] for row in CONFIG["cases"]] + ["tuned"]
    assert study.seeds[REFERENCE] == list(range(CONFIG["seeds"]))
    # every grid point is a case of its own, named as Snakemake's Paramspace names it, first seed only
    assert "grid_beta~0.5_wy~0.0" in study.grid and study.seeds["grid_beta~0.5_wy~0.0"] == [0]
    assert study.cases["grid_beta~0.5_wy~0.0"]["latent_dim"] == study.cases[CONFIG["tuning"]["base_case"]]["latent_dim"]
    assert study.cases["tuned"]["tuned"] is True


def test_a_run_survives_the_round_trip_through_a_rules_params():
    """Rules carry a Run as dataclasses.asdict (built-in types, which Snakemake watches)."""
    study = plan(CONFIG)
    for run in [*study.runs.values(), study.search]:
        assert Run.from_dict(asdict(run)) == run


def test_every_grid_point_is_judged_on_the_validation_split_in_its_own_job():
    study = plan(CONFIG)
    # the default grid's beta 1.1, wy 0.6 is the base case's own setting: a job of its own all the
    # same, since the base case's lines are judged on the scoring split
    assert "grid_beta~1.1_wy~0.6" in study.grid_jobs and len(study.grid_jobs) == len(study.grid)
    run = study.runs["grid_beta~1.1_wy~0.6"]
    assert run.splits == (("validation", CONFIG["evaluate"]["validation_rows"]),) and run.seeds == (0,)
    assert run.generation.refine_steps == 0
    assert study.runs[CONFIG["tuning"]["base_case"]].splits == (("scoring", None),)


def test_training_chains_count_the_levels_that_continue_a_run():
    study = plan(CONFIG)
    seeds, epochs = CONFIG["ablations"]["seeds"], CONFIG["ablations"]["factors"]["epochs"]["levels"]
    center = "ablation-fixed-center"
    assert study.continued_from["ablation-fixed-epochs25"] == center
    # the center trains 10 epochs, the 25-epoch level continues it for 15 more, every seed
    assert study.training_chain("ablation-fixed-epochs25") == seeds * (epochs[1] - epochs[0])
    assert study.training_chain(center) == seeds * epochs[1]
    assert study.training_chain(REFERENCE) == CONFIG["seeds"] * study.cases[REFERENCE]["epochs"]
    assert study.training_chain("nearest-neighbours") == 0


def test_ablations_vary_one_setting_of_the_reference_case():
    study = plan(CONFIG)
    factors = CONFIG["ablations"]["factors"]
    per_variant = 1 + sum(len(spec["levels"]) - 1 for spec in factors.values())  # the center is shared
    assert len(study.ablation) == len(CONFIG["ablations"]["variants"]) * per_variant
    reference = study.cases[REFERENCE]
    for case in study.ablation:
        row = study.cases[case]
        changed = {k for k in reference if k not in ("case", "variant") and row[k] != reference[k]}
        assert len(changed) <= 1, (case, changed)
        assert study.seeds[case] == list(range(CONFIG["ablations"]["seeds"]))
        run = study.runs[case]  # its own lines on the scoring split: no refinement, no validation losses
        assert run.generation.refine_steps == 0 and run.splits == (("scoring", None),) and not run.validation_loss
    beta = [lv for lv in study.levels if lv.variant == "fixed" and lv.factor == "beta"]
    assert [(lv.level, lv.case, lv.in_claim, lv.reference) for lv in beta] == [
        (0.5, "ablation-fixed-beta0.5", False, False),
        (1.1, "ablation-fixed-center", True, True),
    ]
    both = plan(edited(ablations__variants=["fixed", "original_code"]))
    assert both.cases["ablation-original_code-wy0.9"]["variant"] == "original_code"
    assert len(both.ablation) == 2 * per_variant


def test_epoch_levels_continue_the_shorter_run():
    study = plan(edited(ablations__factors__epochs={"claim": {"at_least": 25}, "levels": [5, 10, 25, 40]},
                        ablations__variants=["fixed", "original_code"]))
    assert study.continued_from == {
        "ablation-fixed-center": "ablation-fixed-epochs5", "ablation-fixed-epochs25": "ablation-fixed-center",
        "ablation-fixed-epochs40": "ablation-fixed-epochs25",
        "ablation-original_code-center": "ablation-original_code-epochs5",
        "ablation-original_code-epochs25": "ablation-original_code-center",
        "ablation-original_code-epochs40": "ablation-original_code-epochs25",
    }
    # the claim is judged at the inside level nearest the reference's own (10 epochs is outside)
    judged = [lv.level for lv in study.levels if lv.factor == "epochs" and lv.reference]
    assert judged == [25, 25]


def test_claims_say_where_they_hold():
    wx = Claim("wx", above=0.5, below=0.7)
    assert [wx.holds(v) for v in (0.5, 0.6, 0.7)] == [False, True, False]
    assert wx.text == "0.5 < wx < 0.7"
    assert Claim("epochs", at_least=25).holds(25) and Claim("epochs", at_least=25).text == "epochs ≥ 25"
    assert Claim("loss", one_of=("l1_mean",)).text == "loss in {l1_mean}"


@pytest.mark.parametrize("changes, message", [
    ({"ablations__factors__beta": {"claim": {"above": 1}, "levels": [0.5, 2.0]}}, "must include the reference case's value 1.1"),
    ({"ablations__factors__beta": {"claim": {"above": 0.1}, "levels": [0.5, 1.1]}}, "both inside and outside the claim beta > 0.1"),
    ({"reference_case": "nope"}, "reference_case 'nope' is not a case"),
    ({"reference_case": "flow-nsf5-h256-e30"}, "must be a cvae case"),
    ({"tuning__base_case": "prior-lines"}, "must be a case of a method that trains"),
    ({"report__rows": [0, 99]}, "report.rows [99] do not exist"),
    ({"datasets__data_2__terms": [{"fn": "cos", "a": 49, "b": 63}, {"fn": "sin", "a": 7, "b": 9}]},
     "datasets.data_2: its phases 49·x0 + 63·x1 and 7·x0 + 9·x1 are proportional"),
    ({"report__inspect_cases": ["nope"]}, "report.inspect_cases ['nope'] are not cases"),
    ({"datasets": {}}, "datasets: every dataset is removed (null); keep at least one"),
    ({"train__online": True, "train__targets": "solutions"},
     "targets: solutions trains on the train split's exact solutions, and online lines have none"),
])
def test_a_bad_plan_is_refused_with_the_reason(changes, message):
    with pytest.raises(PlanError, match=re.escape(message)):
        plan(edited(**changes))


@pytest.mark.parametrize("case", ["tuned", "grid_beta~1", "ablation-fixed-center", "c1-l1mean-b1-wx0-wy0-z100"])
def test_reserved_or_repeated_case_ids_are_refused(case):
    config = copy.deepcopy(CONFIG)
    config["cases"].append({**config["cases"][0], "case": case})
    with pytest.raises(PlanError, match="reserved|repeated"):
        plan(config)


def test_grid_cases_cover_every_combination():
    cases = grid_cases({"grid": {"beta": [0.5, 1.1], "loss": ["mse"]}}, {"wx": 1.0})
    assert sorted(cases) == ["grid_beta~0.5_loss~mse", "grid_beta~1.1_loss~mse"]
    assert cases["grid_beta~1.1_loss~mse"] == {"wx": 1.0, "beta": 1.1, "loss": "mse", "case": "grid_beta~1.1_loss~mse"}


@pytest.mark.parametrize("row, message", [
    ({"case": "flow-x", "method": "flow", "free_bits": 0.5}, "case 'flow-x': free_bits not a setting of method flow"),
    ({"case": "cvae-x", "loss": "mse", "beta": 1, "wx": 1}, "case 'cvae-x': method cvae needs wy"),
    ({"case": "cvae-x", "loss": "huber", "beta": 1, "wx": 1, "wy": 1}, "loss = 'huber' must be one of l1_mean, mse, l1_sum"),
    ({"case": "flow-x", "method": "flow", "transforms": 0}, "transforms = 0 must be at least 1"),
    ({"case": "flow-x", "method": "flow", "transforms": 2.5}, "transforms = 2.5 must be an integer"),
    ({"case": "ar-x", "method": "autoregressive", "bins": 1}, "bins = 1 must be at least 2"),
    ({"case": "cvae-x", "loss": "mse", "beta": -1, "wx": 1, "wy": 1}, "beta = -1 must be at least 0"),
    ({"case": "x", "method": "gan"}, "case 'x': unknown method 'gan'; methods are cvae, line_cvae, flow"),
    ({"case": "prior-x", "method": "prior", "epochs": 3}, "epochs not a setting of method prior (its settings: none)"),
])
def test_a_case_row_is_checked_against_its_methods_settings(row, message):
    config = copy.deepcopy(CONFIG)
    config["cases"].append(row)
    with pytest.raises(PlanError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plan(config)


def test_a_case_gets_its_methods_defaults_and_only_reads_its_own_settings():
    study = plan(CONFIG)
    flow = study.cases["flow-nsf5-h256-e30"]
    assert flow["transforms"] == 5 and flow["hidden"] == 256 and "latent_dim" not in flow
    assert study.cases["c1-l1mean-b1-wx0-wy0-z100"]["latent_dim"] == 100  # the cvae's default
    assert "lr" not in applicable("prior") and {"lr", "free_bits"} <= set(applicable("line_cvae"))


@pytest.mark.parametrize("changes, message", [
    ({"tuning__space__free_bits": {"low": 0.0, "high": 1.0}}, "tuning.space varies free_bits, not a setting of"),
    ({"ablations__factors__hidden": {"claim": {"above": 1}, "levels": [1, 2]}}, "ablations.factors varies hidden"),
])
def test_a_sweep_of_a_setting_its_case_does_not_read_is_refused(changes, message):
    with pytest.raises(PlanError, match=message):
        plan(edited(**changes))


def test_planning_the_default_study_reads_the_methods_settings_without_importing_torch():
    code = ("import sys, yaml; from sincvae.plan.planning import plan; "
            f"plan(yaml.safe_load(open({str(ROOT / 'config' / 'config.yaml')!r}))); print('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def test_each_case_gets_a_short_label_from_what_tells_it_from_its_siblings():
    study = plan(CONFIG)
    labels = study.labels()
    assert set(labels) == set(study.comparison) and len(set(labels.values())) == len(labels)
    by_id = {case: labels[case] for case in study.comparison}
    # a method with one case: its name; the original study's cases: the settings that set them apart
    assert by_id["bayes-c32-lr1e-2-cos-online-e200"] == "bayes"
    assert by_id["c1-l1mean-b1-wx0-wy0-z100"] == "cvae (wx 0, wy 0)"
    assert by_id["c7-mse-b1-wx0.5-wy0.5-z100"] == "cvae (loss mse, wx 0.5, wy 0.5)"
    assert by_id["tuned"] == "cvae (tuned)"
    # two cases that would read the same keep their ids
    twins = {"a": {"method": "mdn", "lr": 1.0, "components": 4}, "b": {"method": "mdn", "lr": 1.0, "components": 4},
             "c": {"method": "mdn", "lr": 2.0, "components": 4}}
    assert case_labels(twins) == {"a": "a", "b": "b", "c": "mdn (lr 2)"}


def test_a_case_row_sets_its_own_seeds_and_its_run_jobs_hold_them():
    config = edited(seeds=3)
    row = next(r for r in config["cases"] if r["case"] == "c2-l1mean-b0-wx1-wy0-z100")
    row["seeds"] = 7
    study = plan(config)
    assert study.seeds["c2-l1mean-b0-wx1-wy0-z100"] == list(range(7)) and study.seeds["tuned"] == [0, 1, 2]
    assert "seeds" not in study.cases["c2-l1mean-b0-wx1-wy0-z100"]  # how often it runs, not how
    # one run job for all its seeds, under its family's one rule, unless the plan splits it
    assert study.batches("c2-l1mean-b0-wx1-wy0-z100") == [tuple(range(7))]
    assert study.run_rule("c2-l1mean-b0-wx1-wy0-z100") == "train"
    assert study.batch_run("c2-l1mean-b0-wx1-wy0-z100", "0-6").seeds == tuple(range(7))
    split = replace(study, split={"c2-l1mean-b0-wx1-wy0-z100": [(0, 1, 2, 3), (4, 5, 6)]})
    assert split.batch_run("c2-l1mean-b0-wx1-wy0-z100", "4-6").seeds == (4, 5, 6)
    with pytest.raises(PlanError, match="no run job for seeds 0-6: its jobs are seeds0-3, seeds4-6"):
        split.batch("c2-l1mean-b0-wx1-wy0-z100", "0-6")


def test_a_run_job_reads_what_its_run_needs_and_writes_each_of_its_seeds():
    study = plan(CONFIG)
    continued = next(iter(study.continued_from))
    shorter = study.continued_from[continued]
    everything = label(study, continued)
    inputs = study.run_inputs(continued, "data_2", everything)
    assert inputs["starts"] == [f"results/data_2/{shorter}/seeds{label(study, shorter)}/states.pt"]
    assert inputs["scoring"] == "data/data_2/scoring_dataset.pt" and "validation" not in inputs  # no loss curves
    assert study.run_inputs("tuned", "data_1", label(study, "tuned"))["best"] == "results/tuning/data_1/best.yaml"
    # learns nothing, reads no train split
    assert set(study.run_inputs("prior-lines", "data_1", label(study, "prior-lines"))) == {"scoring"}
    assert set(study.run_inputs("nearest-neighbours", "data_1", label(study, "nearest-neighbours"))) == {
        "scoring", "train"}
    # split, a batch of the longer level reads the shorter level's batches that hold its seeds
    seeds = study.seeds[shorter]
    split = replace(study, split={shorter: [tuple(seeds[:1]), tuple(seeds[1:])], continued: [tuple(seeds[1:])]})
    assert split.run_inputs(continued, "data_2", paths.batch_label(tuple(seeds[1:])))["starts"] == [
        f"results/data_2/{shorter}/seeds{paths.batch_label(tuple(seeds[1:]))}/states.pt"]
    from sincvae.plan.rule_files import run_outputs
    written = run_outputs("ablation_continued")
    assert written["states"] == "results/{dataset}/{case}/seeds{seeds}/states.pt"
    assert set(written) == {"lines", "timing", "histories", "states"}  # scores are the score job's
    assert "models" in run_outputs("train_grid_point") and "histories" not in run_outputs("generate")


def test_a_score_job_reads_the_stored_lines_and_writes_the_scores_of_each_seed():
    """Scoring reads what the run job stored, the scored rows and their solutions, never a model
    or a data file: a change of a scoring setting retrains nothing."""
    from sincvae.plan.rule_files import score_outputs
    study = plan(CONFIG)
    branches = next(c for c in study.comparison if study.cases[c]["method"] == "branches")
    inputs = study.score_inputs(branches, "data_1")
    assert inputs["lines"] == [f"results/data_1/{branches}/seeds{label(study, branches)}/lines.parquet"]
    assert inputs["histories"] == [p.replace("lines.parquet", "history.csv") for p in inputs["lines"]]
    assert inputs["targets"] == "results/data_1/exact/targets.parquet"
    assert set(study.score_inputs("prior-lines", "data_1")) == {"lines", "targets", "solutions"}
    assert study.score_inputs("tuned", "data_2")["best"] == "results/tuning/data_2/best.yaml"
    written = score_outputs()
    assert written["seed_metrics"] == "results/{dataset}/{case}/seed_metrics.json"
    assert written["summary"] == "results/{dataset}/{case}/metrics.json"
    # split over run jobs, the score job reads every batch's lines
    seeds = study.seeds[branches]
    split = replace(study, split={branches: [tuple(seeds[:2]), tuple(seeds[2:])]})
    assert split.score_inputs(branches, "data_1")["lines"] == [
        f"results/data_1/{branches}/seeds{paths.batch_label(batch)}/lines.parquet" for batch in split.batches(branches)]


def test_an_unknown_target_or_a_misplaced_external_file_is_named():
    config = edited(external={"theirs": {"dataset": "data_2", "path": "their.pt"}})
    study = plan(config)
    assert study.external_file("theirs", "data_2") == "their.pt"
    with pytest.raises(PlanError, match=r"answers data_2's scoring split: ask for results/data_2/theirs/metrics.json"):
        study.external_file("theirs", "data_1")
    assert "datasets are data_1, data_2; cases are c1-" in str(study.unknown_target("data_3", "c1"))
