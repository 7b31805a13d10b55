"""Aggregation over seeds, the report's tables and the Findings, from small hand-made tables."""

import math

import html5lib
import numpy as np
import pandas as pd
import pytest

from sincvae.decide.findings import best_methods, claim_lines, claim_outcome, findings
from sincvae.show.render import number, render_markdown
from sincvae.show.report import benchmark_summary, comparison_view, methods_view, power_views, render_report, spread, table_view
from sincvae.score.summary import aggregate_seeds, column_kind, comparison_row, mean_interval

RUN = {"config_sha256": "abc", "commit": "123", "scoring_rows": 50, "tests": 4, "alpha": 0.05, "train_rows": 10000,
       "epochs": 10, "match_tolerance": 0.02, "ranking": {"metric": "distance", "alpha": 0.05, "margin": 1.25}}


def test_mean_interval_is_student_t_over_seeds():
    mean, low, high = mean_interval([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert high - mean == pytest.approx(4.302653 * 1.0 / math.sqrt(3), rel=1e-6)  # t(0.975, 2) · sd / √n
    assert math.isnan(mean_interval([1.0])[1])


def test_a_sizes_interval_is_taken_on_the_log_scale_and_stays_above_zero():
    # two seeds' distances: the plain interval reaches below zero (1.5 ± 12.706 · 0.5)
    mean, low, high = mean_interval([1.0, 2.0], "size")
    factor = math.exp(12.706205 * 0.5 / 1.5)  # t(0.975, 1) · se / mean, the log's error (delta method)
    assert mean == 1.5 and low == pytest.approx(1.5 / factor, rel=1e-6) and high == pytest.approx(1.5 * factor, rel=1e-6)
    assert spread(mean, low, high, "size") == "×÷ 69"  # the two seeds say little: 1.5 ÷ 69 to 1.5 × 69
    assert spread(2.0, 1.99, 2.008, "size") == "×÷ 1.0040"  # a narrow one keeps its digits


def test_a_shares_interval_is_cut_to_zero_and_one():
    mean, low, high = mean_interval([0.9, 1.0, 1.0], "share")
    plain = mean_interval([0.9, 1.0, 1.0])
    assert high == 1.0 < plain[2] and low == plain[1] > 0
    assert spread(mean, low, high, "share") == f"± {mean - low:.2g}"


@pytest.mark.parametrize("column, kind", [
    ("scoring_distance", "size"), ("validation_residual_l1_mean", "size"), ("train_s", "size"),
    ("scoring_coverage", "share"), ("scoring_gate_all", "share"), ("validation_converged_share", "share"),
    ("final_val_loss", "value")])
def test_each_column_has_its_kind(column, kind):
    assert column_kind(column) == kind


def test_aggregate_seeds_keeps_every_seed_and_summarises_the_metrics():
    ids = {"dataset": "d", "case": "c", "method": "cvae", "stage": "raw", "loss": "l1_mean", "beta": 1.0,
           "wx": 0.6, "wy": 0.6, "latent_dim": 110, "lr": 1e-3, "batch_size": 500, "epochs": 10,
           "variant": "fixed", "free_bits": None, "transforms": None, "hidden": None}
    rows = [{**ids, "seed": s, "scoring_distance": v} for s, v in enumerate([0.4, 0.6])]
    aggregated = aggregate_seeds(rows)
    assert aggregated["seeds"] == [0, 1] and aggregated["per_seed"] == rows
    assert aggregated["summary"]["scoring_distance"]["mean"] == pytest.approx(0.5)
    row = comparison_row(aggregated)
    assert row["seeds"] == 2 and row["scoring_distance_ci_low"] < 0.5 < row["scoring_distance_ci_high"]
    assert "latent_dim" in row and "seed" not in aggregated["summary"]


@pytest.mark.parametrize("decisions, outcome", [
    (["supported", "supported", "undecided"], "holds"),
    (["supported", "inconclusive"], "differs by dataset"),  # one dataset's support is not the claim's
    (["contradicted", "contradicted"], "fails"),
    (["supported", "contradicted"], "differs by dataset"),
    (["equivalent", "equivalent"], "equivalent"),
    (["inconclusive", "undecided"], "inconclusive"),
    (["undecided", "undecided"], "undecided"),
])
def test_a_claims_outcome_follows_its_decisions(decisions, outcome):
    assert claim_outcome(decisions) == outcome


def comparison():
    rows = []
    for case, method, distance, coverage in (("ref", "cvae", 1.1, 0.0), ("flow", "flow", 0.2, 0.7),
                                             ("mdn", "mdn", 0.21, 0.6), ("exact", "exact", 0.0, 1.0)):
        for stage in ("raw", "refined") if method != "exact" else ("raw",):
            value = distance / (4 if stage == "refined" else 1)
            rows.append({"dataset": "d", "case": case, "method": method, "stage": stage,
                         "seeds": np.nan if method == "exact" else 3,  # as compare writes the exact row
                         "loss": "l1_mean" if method == "cvae" else np.nan, "beta": np.nan, "wx": np.nan,
                         "wy": np.nan, "latent_dim": np.nan, "lr": np.nan, "batch_size": np.nan, "epochs": np.nan,
                         "variant": np.nan, "free_bits": np.nan, "transforms": np.nan, "hidden": np.nan,
                         "scoring_distance": value, "scoring_distance_ci_low": value - 0.01,
                         "scoring_distance_ci_high": value + 0.01, "scoring_mmd": value,
                         "scoring_coverage": coverage, "scoring_precision": coverage, "scoring_near": 1.0,
                         "scoring_gate_all": 0.9, "scoring_residual_l1_mean": value, "ms_per_sample": 0.1,
                         "train_s": 5.0})
    return pd.DataFrame(rows)


def ranking(tied=True):
    """As ranking.ranking writes it: over all cases flow leads both stages, mdn not separated from
    it (or worse), ref worse; among the methods that know nothing of the map, flow alone."""
    def row(stage, case, scope="all", comparisons=2):
        in_set = case == "flow" or (case == "mdn" and tied)
        word = {"flow": "not separated" if tied else "best", "mdn": "not separated" if tied else "worse"}.get(
            case, "worse")
        return {"dataset": "d", "stage": stage, "scope": scope, "metric": "distance", "case": case, "seeds": 3,
                "mean": 0.2, "ci_low": 0.19, "ci_high": 0.21, "gap": {"flow": 0.9}.get(case, 1.4),
                "gap_low": 0.5 if in_set else 1.0, "gap_high": 3.0 if tied else 1.0, "df": 12.0, "margin": 1.25,
                "in_best_set": in_set, "word": word, "stability": 0.7 if case == "mdn" else 1.0,
                "fragile": case == "mdn", "comparisons": comparisons}
    return pd.DataFrame([row(stage, case) for stage in ("raw", "refined") for case in ("flow", "mdn", "ref")]
                        + [row(stage, "flow", "nothing", 0) for stage in ("raw", "refined")])


def verdicts():
    return pd.DataFrame([
        {"claim": "beta > 1", "factor": "beta", "dataset": "d", "variant": v, "metric": m,
         "role": "primary" if m == "distance" else "secondary", "scale": "log" if m == "distance" else "identity",
         "margin": 1.25 if m == "distance" else 0.05, "reference_level": 1.1, "best_outside": 0.5, "effect": e,
         "ci_low": e - 0.1, "ci_high": e + 0.1, "bound": abs(e) + 0.1, "p": 0.001, "p_adjusted": 0.004,
         "p_equivalent": 0.5, "p_equivalent_adjusted": 0.5, "decision": d, "stability": 0.9, "fragile": False,
         "mde_support": 0.25, "mde_contradict": 0.3, "tests": 2, "seeds": 5, "rows": 50, "reason": np.nan}
        for v, m, e, d in (("fixed", "distance", -0.3, "contradicted"),
                           ("fixed", "coverage", 0.2, "supported"),
                           ("original_code", "distance", 0.0, "inconclusive"),
                           ("original_code", "coverage", 0.0, "inconclusive"))])


def test_the_best_method_comes_from_the_best_set_never_the_exact_row():
    found = best_methods(comparison(), ranking())
    best = {b["stage"]: b for b in found if b["scope"] == "all"}
    assert best["raw"]["case"] == "flow" and best["refined"]["case"] == "flow"
    assert best["raw"]["distance"]["mean"] == pytest.approx(0.2) and best["raw"]["best_set"] == ["flow", "mdn"]
    assert best["raw"]["words"]["worse"] == ["ref"] and best["raw"]["fragile"] == ["mdn"]
    assert best["raw"]["widest_gap"] == 3.0
    assert best_methods(comparison(), ranking(tied=False))[0]["best_set"] == ["flow"]
    assert [(b["stage"], b["scope"]) for b in found] == [("raw", "all"), ("refined", "all"), ("raw", "nothing"),
                                                        ("refined", "nothing")]


def test_findings_are_written_from_the_numbers():
    found = findings(comparison(), verdicts(), ranking(), "ref", 0.1492)
    text = render_markdown(found, {**RUN, "match_tolerance": 0.02})
    assert "None of its generated lines is a valid input" in text  # the reference's precision is 0
    # the outcome follows the primary metric alone: the supported coverage test does not make it mixed
    assert "beta > 1: differs by dataset. Decided on the distance" in text
    assert "d fixed contradicted, 1.1 against 0.5: ×0.741 [0.67, 0.819]" in text  # a log effect as a ratio
    # the summary names what the claims were tested on, from the verdicts
    assert "Of its 1 claim, tested on d (fixed and original_code models): 1 differs by dataset" in text
    # more than one claim of an outcome: the verb agrees
    two = pd.concat([verdicts(), verdicts().assign(claim="wx > 0.5", factor="wx")])
    assert "Of its 2 claims, tested on d (fixed and original_code models): 2 differ by dataset (" in render_markdown(
        findings(comparison(), two, ranking(), "ref", 0.1492), {**RUN, "match_tolerance": 0.02})
    assert ("original_code inconclusive, 1.1 against 0.5: ×1 [0.905, 1.11], effects up to ×1.11 not excluded "
            "(margin ×1.25)") in text
    assert "Beside it, not deciding: coverage on d fixed supported, 0.2 [0.1, 0.3] (Holm p 0.004" in text
    # an equivalent claim says how close every outside level is shown to be, not the difference test's interval
    same = verdicts()
    same.loc[(same["variant"] == "original_code") & (same["metric"] == "distance"), ["decision", "bound"]] = [
        "equivalent", math.log(1.1)]
    assert "original_code equivalent, every level outside within ×1.1 of 1.1 (margin ×1.25)" in render_markdown(
        findings(comparison(), same, ranking(), "ref", None), RUN)
    # tested on two datasets: the summary gives each dataset's decisions, fragile ones counted
    both = pd.concat([verdicts(), verdicts().assign(dataset="e", fragile=True)])
    assert ("1 differs by dataset; on d 1 contradicted, 1 inconclusive; on e 1 contradicted, 1 inconclusive "
            "(2 fragile) (each below") in render_markdown(findings(comparison(), both, ranking(), "ref", None), RUN)
    assert "- d raw: flow leads (distance 0.2). Best set: flow; mdn. 2 not separated (gaps up to ×3), 1 worse, 1 fragile." in text
    assert "- Best raw lines: flow on d (distance 0.2, best set of 2)." in text
    assert "among methods that know nothing" not in text  # the classes: in the table and ranking.csv
    assert "| d | raw | nothing | flow | flow | 1 | 0 |" in text
    separated = render_markdown(findings(comparison(), verdicts(), ranking(tied=False), "ref", None), RUN)
    assert "- d raw: flow leads (distance 0.2). It is the best of 3. 2 worse, 1 fragile." in separated
    # a lower bound above the margin, and a case with too few seeds to rank, each have their word
    words = ranking(tied=False)
    words.loc[words["case"] == "ref", "word"] = "worse beyond the margin"
    words = pd.concat([words, words[words["case"] == "ref"].assign(case="one", word="undecided", gap=float("nan"))])
    beyond = render_markdown(findings(comparison(), verdicts(), words, "ref", None), RUN)
    assert ("- d raw: flow leads (distance 0.2). It is the best of 3. 1 worse, 1 worse beyond ×1.25, 1 undecided, "
            "1 fragile.") in beyond
    labelled = render_markdown(findings(comparison(), verdicts(), ranking(), "ref", None,
                                        {"flow": "flow (hidden 64)", "mdn": "mdn", "ref": "cvae"}), RUN)
    assert "- d raw: flow (hidden 64) leads (distance 0.2). Best set: flow (hidden 64); mdn." in labelled
    assert "| d | raw | all | flow | flow |" in labelled  # the table keeps the ids
    for line in labelled.split("## Which method is best")[1].split("\n\n")[1].splitlines():
        assert len(line.split()) <= 40, line
    assert "y_loss 0.149" in text and "mean residual 1.1" in text
    assert "trains on 10,000 rows for 10 epochs" in text
    better = comparison()
    better.loc[better["case"] == "ref", ["scoring_precision"]] = 0.9
    assert "Most of its generated lines are valid inputs" in render_markdown(
        findings(better, verdicts(), ranking(), "ref", None), RUN)


def test_findings_without_ablations_say_the_claims_are_not_tested():
    text = render_markdown(findings(comparison(), None, ranking(), "ref", None), {**RUN, "tests": 0, "alpha": None})
    assert "Not tested: this run's config has no ablations" in text
    assert "Holm-corrected over" not in text and "α = None" not in text


def test_the_findings_list_every_methods_own_lines_with_the_exact_bound_last():
    table = comparison()
    other = table[table["case"] == "ref"].assign(case="c2", scoring_distance=0.9)  # a test case of the original study's CVAE
    text = render_markdown(findings(pd.concat([other, table], ignore_index=True), verdicts(), ranking(), "ref", None),
                           RUN)
    section = text[text.index("## Every method's own lines"):]
    rows = [line.split(" | ")[1:3] for line in section.splitlines() if line.startswith("| d |")]
    assert rows == [["ref", "cvae"], ["flow", "flow"], ["mdn", "mdn"], ["exact", "exact"]]  # raw, one seed-CVAE case
    assert "| flow | flow | 3 | 0.2 [0.19, 0.21] | 0.7 | 0.7 | 1 | 0.9 | 0.2 | — | 5 | 0.1 |" in section
    assert "| exact | exact | — | 0 [-0.01, 0.01] | 1 | 1 |" in section
    with_lines = pd.concat([other, table], ignore_index=True).assign(lines_seen=2_000_000.0)
    assert "| 2,000,000 |" in render_markdown(findings(with_lines, verdicts(), ranking(), "ref", None), RUN)


def test_the_comparison_puts_raw_and_refined_side_by_side_and_marks_the_best_by_test():
    view, settings = comparison_view(comparison(), ranking())
    assert view["head"][:5] == ["dataset", "case", "method", "knows", "seeds"]
    assert "precision raw" in view["head"] and "precision refined" in view["head"] and "near raw" in view["head"]
    assert len(view["rows"]) == 4  # one per dataset × case
    distance_raw = view["head"].index("distance raw")
    marked = [row[1]["text"] for row in view["rows"] if row[distance_raw]["cls"] == "best"]
    assert marked == ["flow", "mdn"]  # the best set; never the exact row
    coverage_raw = view["head"].index("coverage raw")
    assert not any(row[coverage_raw]["cls"] for row in view["rows"])  # no best-mean marks
    separated, _ = comparison_view(comparison(), ranking(tied=False))
    assert [row[1]["text"] for row in separated["rows"] if row[distance_raw]["cls"] == "best"] == ["flow"]
    assert settings["head"] == ["case", "loss"] and len(settings["rows"]) == 3


def test_the_report_template_renders_valid_html_with_findings_first():
    view, settings = comparison_view(comparison(), ranking())
    empty = {"head": [], "rows": []}
    claims = verdicts().assign(claim="0.5 < beta < 2")  # "<" in a sentence must come out escaped
    page = render_report(found=findings(comparison(), claims, ranking(), "ref", None),
                         run={**RUN, "reference_case": "ref", "samples": 30, "match_tolerance": 0.02,
                              "refine": {"oversample": 4, "steps": 30, "converged": 1e-4}, "ablation_seeds": 5,
                              "tuning": None},
                         headline=None, best_figure="data:,", best_cases_figure="data:,", claims=[], verdicts=None, comparison=view, settings=settings,
                         methods=methods_view(comparison()), compute_figure="data:,", calibration_figures={"expected_coverage": "data:,"}, datasets=[], validations=[], validation=empty, figures={},
                         notebooks={}, tuning=[], origin=empty, benchmarks=empty,
                         planned={"jobs": 3, "cpu_ref": 40.0, "wall_ref": 20.0, "cores": 2, "wall_minutes": 0.4,
                                  "reference_epoch_s": 1.1, "rates_from": "test", "machine": "other CPU",
                                  "critical_path_ref": 12.4, "critical_path": ["generate_data", "train", "report"]},
                         config_text="a: <b>", docs="../docs", power={})
    html5lib.HTMLParser(strict=True).parse(page)
    assert "rates measured on test; this machine: other CPU" in page
    assert "20 of wall time on 2 cores (a simulated schedule; its critical path 12, 3 jobs)" in page
    assert page.index('id="findings"') < page.index('id="comparison"')
    assert "a: &lt;b&gt;" in page and "0.5 &lt; beta &lt; 2: differs by dataset" in page  # text is escaped
    assert 'href="#claims"' not in page  # no claims section (claims=[]), so no link to one
    assert "<dt><code>flow</code></dt><dd>Conditional normalizing flow p(θ | y)" in page
    assert 'href="../docs/metrics.md"' in page and 'href="../docs/statistics.md"' in page


def test_the_report_says_what_each_method_of_its_table_is_in_its_modules_words():
    frame = pd.concat([comparison(), pd.DataFrame([{"method": "autoregressive"}, {"method": "external"}])])
    about = {m["method"]: m["about"] for m in methods_view(frame)}
    assert list(about) == ["cvae", "flow", "mdn", "exact", "autoregressive", "external"]  # the table's order, once each
    assert about["cvae"].startswith("The original study's conditional VAE") and about["cvae"].endswith("wy·L(y, f(x̂)).")
    assert about["autoregressive"].startswith("Autoregressive binned density")
    assert "softmax over bins equal bins" in about["autoregressive"]  # one line, markdown's backticks dropped
    assert "exact solutions" in about["exact"] and "samples file" in about["external"]


def test_the_time_table_sums_cpu_seconds_per_rule_family(tmp_path, monkeypatch):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    paths = []
    for rule, name, seconds, cpu in (("train", "a", 10.0, 9.0), ("train", "b", 12.0, 11.0), ("report", "r", 2.0, 1.0)):
        path = tmp_path / "benchmarks" / rule / f"{name}.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + f"{seconds}\t0:00:10\t400\t0\t0\t0\t0\t0\t90\t{cpu}\n")
        paths.append(str(path.relative_to(tmp_path)))
    monkeypatch.chdir(tmp_path)
    plan = pd.DataFrame({"rule": ["train", "train", "report"], "ref": [8.0, 12.0, 1.0], "threads": [1, 1, 1]})
    table = benchmark_summary(paths, plan, reference_epoch_s=0.5).set_index("rule")
    assert table.loc["train", "cpu_s"] == 20.0 and table.loc["train", "jobs"] == 2
    # planned: 20 reference epochs of 0.5 s for the two train jobs, measured 22 s
    assert table.loc["train", "planned_s"] == 10.0 and table.loc["train", "measured_over_planned"] == 2.2
    assert table.loc["total", "planned_s"] == 10.5 and table.loc["total", "total_s"] == 24.0
    assert table.loc["total", "cpu_s"] == 21.0 and table.loc["total", "jobs"] == 3
    assert table.loc["train", "cpu_share"] == pytest.approx(20 / 21)
    assert list(table.index) == ["train", "report", "total"]


def test_numbers_keep_their_significant_digits_without_an_exponent_for_large_values():
    assert number(303.4, 2) == "300"
    assert number(12_345) == "12,300"
    assert number(0.04271) == "0.0427"
    assert number(9.21e-6) == "9.21e-06"
    assert number(float("nan")) == "—"


def test_loss_curves_draw_one_panel_per_part_that_has_values_and_a_colour_per_seed():
    from sincvae.show.plots import loss_curves
    epochs = np.arange(1, 4)
    cvae = pd.DataFrame({"epoch": epochs, "train_loss": [3.0, 2.0, 1.0], "val_loss": [3.5, 2.5, 1.5],
                         "train_kl": [1.0, 0.5, 0.2], "train_nll": np.nan})
    history = pd.concat([cvae.assign(seed="seed 0"), cvae.assign(seed="seed 1", train_loss=[4.0, 3.0, 2.0])])
    fig = loss_curves(history, hue="seed")
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["part = loss", "part = kl"]  # no nll panel: no values
    loss = axes[0].get_lines()
    assert [line.get_linestyle() for line in loss] == ["-", "--", "-", "--"]  # train, validation per seed
    assert loss[0].get_color() != loss[2].get_color() and loss[0].get_color() == loss[1].get_color()
    assert list(loss[2].get_ydata()) == [4.0, 3.0, 2.0] and axes[0].get_yscale() == "log"
    assert len(axes[1].get_lines()) == 2  # kl has no validation column
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert labels == ["seed 0", "seed 1", "train", "validation"]


def test_loss_curves_join_the_validation_losses_of_a_run_that_skipped_epochs():
    from sincvae.show.plots import loss_curves
    history = pd.DataFrame({"epoch": [1, 2, 3, 4], "train_loss": [4.0, 3.0, 2.0, 1.0],
                            "val_loss": [4.5, np.nan, np.nan, 1.5], "case": "a"})
    train, val = loss_curves(history).axes[0].get_lines()
    assert list(train.get_xdata()) == [1, 2, 3, 4]
    assert list(val.get_xdata()) == [1, 4] and list(val.get_ydata()) == [4.5, 1.5]


def test_loss_curves_give_every_case_its_own_colour_beyond_the_palettes_ten():
    from sincvae.show.plots import loss_curves
    history = pd.concat(pd.DataFrame({"epoch": [1, 2], "train_loss": [2.0, 1.0], "case": f"case {i}"}) for i in range(12))
    lines = loss_curves(history).axes[0].get_lines()
    assert len({line.get_color() for line in lines}) == 12


def test_the_best_cases_figure_shows_every_contender_with_the_best_set_filled():
    from sincvae.show.plots import best_cases

    fig = best_cases(ranking(), {"flow": "nothing", "mdn": "nothing", "ref": "formula"})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["flow", "mdn", "ref"] and ax.get_xscale() == "log"
    markers = [line for line in ax.get_lines() if line.get_marker() in ("o", "s")]
    assert len(markers) == 6  # three cases, raw and refined
    hollow = sum(line.get_markerfacecolor() == "white" for line in markers)
    assert hollow == 2  # ref, outside the best set, in both stages


def test_the_best_methods_figure_shows_each_methods_best_case():
    from sincvae.show.plots import best_methods

    table = ranking(tied=False)
    table.loc[table["case"] == "mdn", ["mean", "ci_low", "ci_high"]] = [0.1, 0.09, 0.11]
    fig = best_methods(table, {"flow": "nothing", "mdn": "nothing", "ref": "formula"},
                       {"flow": "flow", "mdn": "flow", "ref": "ref"})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["flow (best of 2)", "ref"]
    markers = [line for line in ax.get_lines() if line.get_marker() in ("o", "s")]
    assert len(markers) == 4  # two methods, raw and refined
    # flow's row shows its best case, mdn (0.1), which is outside the best set: hollow, like ref
    assert sorted(line.get_xdata()[0] for line in markers) == [0.1, 0.1, 0.2, 0.2]
    assert all(line.get_markerfacecolor() == "white" for line in markers)


POWER = pd.DataFrame([
    {"kind": "claim", "dataset": "d", "stage": "raw", "metric": "distance", "case": "ablation-beta0.5",
     "against": "ablation-center", "seeds_case": 6, "seeds_against": 6, "df": 5.0, "detectable": 1.3},
    {"kind": "ranking", "dataset": "d", "stage": "raw", "metric": "distance", "case": "flow", "against": "bayes",
     "seeds_case": 3, "seeds_against": 8, "df": 40.0, "detectable": 1.7}])


def test_each_claims_sentence_appears_once_in_its_section():
    view, settings = comparison_view(comparison(), ranking())
    empty = {"head": [], "rows": []}
    claims = verdicts()
    page = render_report(found=findings(comparison(), claims, ranking(), "ref", None),
                         run={**RUN, "reference_case": "ref", "samples": 30, "match_tolerance": 0.02,
                              "refine": {"oversample": 4, "steps": 30, "converged": 1e-4}, "ablation_seeds": 5,
                              "tuning": None},
                         headline="data:,", best_figure="data:,", best_cases_figure="data:,",
                         claims=[{"line": line, "figure": "data:,"} for line in claim_lines(claims)],
                         verdicts=table_view(claims), comparison=view, settings=settings, methods=methods_view(comparison()),
                         compute_figure="data:,", calibration_figures={"expected_coverage": "data:,"}, datasets=[], validations=[], validation=empty, figures={},
                         notebooks={}, tuning=[], origin=empty, benchmarks=empty,
                         planned={"jobs": 3, "cpu_ref": 40.0, "wall_ref": 20.0, "cores": 2, "wall_minutes": 0.4,
                                  "reference_epoch_s": 1.1, "rates_from": "test", "machine": "other CPU"},
                         config_text="", docs="../docs", power=power_views(POWER))
    section = page[page.index('id="claims"'):page.index('id="comparison"')]
    # what the seeds could detect, said before the run, beside the tests it speaks of
    assert "What these seeds could detect" in section and "ablation-beta0.5" in section
    assert "What these seeds could separate" in page[page.index('id="comparison"'):]
    assert section.count("differs by dataset") == 1


def test_a_claims_figure_draws_only_the_metrics_that_vary():
    """Precision 0 at every level and dataset (the CVAE's raw lines never solve y): one line of
    the title, no panel."""
    from sincvae.show.plots import claim_levels

    rows = [{"dataset": "d", "variant": "fixed", "level": level, "metric": metric, "mean": mean, "ci_low": mean - 0.1,
             "ci_high": mean + 0.1} for level, shift in ((0.5, 0.0), (1.1, 0.2))
            for metric, mean in (("distance", 1.0 + shift), ("coverage", 0.3 + shift))]
    rows += [{"dataset": "d", "variant": "fixed", "level": level, "metric": "precision", "mean": 0.0, "ci_low": 0.0,
              "ci_high": 0.0} for level in (0.5, 1.1)]
    fig = claim_levels(pd.DataFrame(rows), "beta > 1", {"0.5": False, "1.1": True})
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["d: distance to the exact posterior", "d: coverage"]
    assert "precision (valid lines): 0 at every level" in fig._suptitle.get_text()


def test_the_findings_name_the_lowest_coverage_gap_and_the_original_cvaes_confidence():
    """One bullet of at most 40 words per run: per dataset the learned case of the lowest mean
    coverage gap with two seeds or more (a one-seed case with a smaller gap is not named), and
    the original study's CVAE overconfident only where its calibration's interval lies below 0."""
    gaps = {"ref": 0.4, "flow": 0.001, "mdn": 0.02, "exact": 0.0}
    table = comparison().assign(
        scoring_coverage_gap=lambda t: t["case"].map(gaps), scoring_calibration=-0.3,
        scoring_calibration_ci_low=-0.35, scoring_calibration_ci_high=-0.25,
        seeds=lambda t: np.where(t["case"] == "flow", 1, t["seeds"]))
    text = render_markdown(findings(table, verdicts(), ranking(), "ref", None), RUN)
    bullet = next(line for line in text.splitlines() if "Calibration against the exact posterior" in line)
    assert bullet.endswith("lowest coverage gap on d mdn (0.02, 3 seeds), the original CVAE overconfident.")
    assert len(bullet.split()) <= 40
    straddles = table.assign(scoring_calibration_ci_high=0.05)
    assert "the original CVAE neither shown over- nor underconfident." in render_markdown(
        findings(straddles, verdicts(), ranking(), "ref", None), RUN)
    assert "Calibration against" not in render_markdown(findings(comparison(), verdicts(), ranking(), "ref", None), RUN)


def test_the_calibration_figures_draw_each_methods_best_case():
    """Each method's best case is its raw case of the lowest mean distance; the figures draw one
    coverage curve per method (the ideal sampler's on the diagonal here), and the accuracy-for-
    time figure fills the cases of the best set."""
    from sincvae.score.diagnostics import BUDGETS, LEVELS
    from sincvae.show.calibration_plots import (accuracy_for_time, best_cases, best_of_budget, coverage_curves,
                                                rank_histograms)

    table = comparison().assign(**{f"scoring_r_at_{t}": 1.0 / t for t in BUDGETS},
                                **{f"scoring_r_at_{t}_ci_low": 1.2 / t for t in BUDGETS},  # as a skewed interval may
                                **{f"scoring_r_at_{t}_ci_high": 2.0 / t for t in BUDGETS})
    table = pd.concat([table, table[table["case"] == "flow"].assign(case="flow-worse", scoring_distance=5.0),
                       table[table["case"] == "flow"].assign(case="ideal", method="posterior", scoring_distance=0.01)])
    cases = best_cases(table)
    assert cases == {"d": {"cvae": "ref", "flow": "flow", "mdn": "mdn", "posterior": "ideal"}}
    rng = np.random.default_rng(0)
    rows = pd.concat(pd.DataFrame({"dataset": "d", "case": case, "seed": 0, "split": "scoring", "stage": "raw",
                                   "pit": rng.random(200) if case == "ideal" else np.ones(200),
                                   **{f"rank_{n}": rng.random(200) for n in ("x0_start", "x1_start", "x0_end", "x1_end")}})
                     for case in ("ref", "flow", "mdn", "ideal"))
    curves = {line.get_label(): line.get_ydata() for line in coverage_curves(rows, cases).axes[0].get_lines()[1:]}
    assert np.abs(curves["posterior"] - LEVELS).max() < 0.1 and (curves["flow"] == 0).all()
    assert len(rank_histograms(rows, cases).axes) == 4
    assert len(best_of_budget(table, cases).axes[0].get_lines()) > 0
    markers = accuracy_for_time(table, ranking(), cases).axes[0].get_lines()
    filled = {(line.get_label(), line.get_marker()): line.get_markerfacecolor() != "none" for line in markers}
    assert filled[("flow", "o")] and not filled[("cvae", "o")]
