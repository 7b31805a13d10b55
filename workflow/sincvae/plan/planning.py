"""The study's plan from its config: every case with its settings and seeds, the search's grid
and `tuned` cases, the controlled ablations, and the checks that fail early on a bad id.

Torch-free and Snakemake-free: `workflow/rules/common.smk` builds one Plan while parsing, and
the unit tests build one in milliseconds.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

from sincvae import paths
from sincvae.learn import registry
from sincvae.plan.ablations import ABLATION_PREFIX, Claim, Level, ablation_cases, claims
from sincvae.plan.cases import PlanError, case_labels, case_settings, check_applies, grid_cases
from sincvae.plan.rule_files import run_outputs
from sincvae.score.metric_table import config_problem

# The rule families of the run jobs (Plan.run_rule), each a rule of workflow/rules/train.smk.
RUN_FAMILIES = ("train", "train_grid_point", "generate", "ablation", "ablation_continued")
SCORE = "score"  # the rule of the score jobs, one per case
TUNED = "tuned"
STAGES = ("raw", "refined")  # a method's own lines; the same after refinement


@dataclass(frozen=True)
class Generation:
    """What generating lines reads of config `evaluate`: K lines per y and the refinement.
    Without refinement (refine_steps 0) oversample and converged are not read, so a change of
    them leaves the jobs that generate raw lines alone."""

    samples: int
    refine_steps: int = 0
    oversample: int = 1
    converged: float = 0.0

    @property
    def candidates(self) -> int:
        """Lines drawn per y: oversample × samples when refined, else samples."""
        return self.samples * (self.oversample if self.refine_steps else 1)


def generation(evaluate: dict, refine: bool = True) -> Generation:
    """The Generation of config `evaluate`; refine=False: the method's own lines only (the
    ablations and the search judge a method by them)."""
    steps = evaluate["refine"]["steps"] if refine else 0
    if not steps:
        return Generation(evaluate["samples"])
    return Generation(evaluate["samples"], steps, evaluate["refine"]["oversample"], evaluate["refine"]["converged"])


def search_processes(workers: int, cores: int | None) -> int:
    """Processes of the search's job (its threads): its batch's `workers` trials at once, but on
    a machine of `cores` never all of them (None: a cluster node of its own). Nothing reserves
    cores for a job that needs every one: it starts only when no other job is ready, so the search
    and the tuned case after it ran alone at the study's end. Its results do not depend on it
    (tuning.run_search)."""
    return workers if cores is None else max(1, min(workers, cores - 1))


def evaluated_splits(validation_rows: int) -> tuple[tuple[str, int | None], ...]:
    """(split, rows scored): every scoring row, the first validation rows. The exact solver and
    every method's lines use this one list, so their rows line up."""
    return (("scoring", None), ("validation", validation_rows))


@dataclass(frozen=True)
class Run:
    """One job's work and all that its rule hands the script (as params, so Snakemake reruns
    exactly the jobs a change touches): train the case's seeds if its method learns, then
    generate each seed's lines on the scored rows of each split (evaluate.run_seeds)."""

    case: dict  # full settings (cases.case_settings)
    seeds: tuple[int, ...]
    splits: tuple[tuple[str, int | None], ...]  # (split, rows generated: None for all)
    generation: Generation
    validation_loss: bool = True  # the training loop's validation losses (history val_*): the comparison's curves

    @property
    def trains_on_solutions(self) -> bool:
        """Whether it trains towards the train split's exact solutions (train.targets), which
        rule solve_train enumerates."""
        return registry.method(self.case["method"]).learns and self.case["targets"] == "solutions"

    @classmethod
    def from_dict(cls, values: dict) -> Run:
        """The Run a rule's params carry as `dataclasses.asdict(run)`: Snakemake watches params
        of built-in types only, so a Run object itself would never rerun a job."""
        return cls(values["case"], tuple(values["seeds"]), tuple(tuple(split) for split in values["splits"]),
                   Generation(**values["generation"]), values["validation_loss"])


@dataclass
class Plan:
    cases: dict[str, dict]  # every case id -> its full settings (defaults filled in)
    comparison: list[str]  # the cases of the comparison table, in config order
    seeds: dict[str, list[int]]  # case -> its seeds
    grid: dict[str, dict] = field(default_factory=dict)  # grid case -> its point
    claims: dict[str, Claim] = field(default_factory=dict)
    levels: list[Level] = field(default_factory=list)  # the ablations' levels, every variant
    continued_from: dict[str, str] = field(default_factory=dict)  # case -> case whose end it resumes
    external: dict[str, dict] = field(default_factory=dict)  # name -> {dataset, path}: other people's samples
    runs: dict[str, Run] = field(default_factory=dict)  # case -> its jobs' work (training and generation)
    # case -> its run jobs' seeds, where the cost splits its seeds (sincvae.plan.schedule); else one job
    split: dict[str, list[tuple[int, ...]]] = field(default_factory=dict)
    search: Run | None = None  # what each trial of the search runs, with its settings over the base case's
    datasets: list[str] = field(default_factory=list)

    @property
    def learned(self) -> list[str]:
        return [c for c, row in self.cases.items() if registry.method(row["method"]).learns]

    @property
    def learned_comparison(self) -> list[str]:
        """The comparison's cases whose method learns: those with loss curves."""
        return [c for c in self.comparison if registry.method(self.cases[c]["method"]).learns]

    @property
    def contenders(self) -> list[str]:
        """The comparison's cases that the ranking compares: all but the references (the exact
        posterior's draws), which no method can beat."""
        return [c for c in self.comparison if self.cases[c]["method"] not in registry.references()]

    @property
    def classes(self) -> dict[str, str]:
        """Each contender's class: what its method knows of the map (the ranking's scopes)."""
        return {c: registry.method(self.cases[c]["method"]).knows for c in self.contenders}

    @property
    def ablation(self) -> list[str]:
        return list(dict.fromkeys(level.case for level in self.levels))

    @property
    def grid_jobs(self) -> list[str]:
        """The grid points, each trained and scored in jobs of its own: the point at the base
        case's own setting too, since a grid point is judged on the validation split and the
        base case on the scoring split."""
        return list(self.grid)

    def epochs_done(self, case: str) -> int:
        """Epochs a case's run starts from: those of the shorter run it continues, else 0."""
        shorter = self.continued_from.get(case)
        return self.cases[shorter]["epochs"] if shorter else 0

    def training_chain(self, case: str) -> int:
        """Seed-epochs a case's training job runs, plus those of the levels that continue from it:
        its scheduling priority, so the longest chains start first and fewer cores idle at the end."""
        if not registry.method(self.cases[case]["method"]).learns:
            return 0
        epochs = self.cases[case]["epochs"] - self.epochs_done(case)
        continuing = [c for c, start in self.continued_from.items() if start == case]
        return len(self.seeds[case]) * epochs + sum(self.training_chain(c) for c in continuing)

    def with_encoder(self, cases: list[str]) -> list[str]:
        """The cases among `cases` whose method has an encoder: those the latent figure shows."""
        return [c for c in cases if self.cases[c]["method"] in registry.with_encoder()]

    def run_rule(self, case: str) -> str:
        """The rule family of a case's run job: its log and benchmark folder, its costs' key."""
        if case in self.ablation:
            return "ablation_continued" if case in self.continued_from.values() else "ablation"
        if case in self.grid_jobs:
            return "train_grid_point"
        return "train" if registry.method(self.cases[case]["method"]).learns else "generate"

    def batches(self, case: str) -> list[tuple[int, ...]]:
        """A case's run jobs, each a batch of consecutive seeds: one for all its seeds unless
        the plan split them by cost (sincvae.plan.schedule.split_by_cost). A seed's lines do not
        depend on its batch."""
        return self.split.get(case, [tuple(self.seeds[case])])

    def batch(self, case: str, label: str) -> tuple[int, ...]:
        """The seeds of a case's run job by its {seeds} label (paths.batch_label)."""
        for seeds in self.batches(case):
            if paths.batch_label(seeds) == label:
                return seeds
        raise PlanError(f"{case} has no run job for seeds {label}: its jobs are "
                        f"{', '.join('seeds' + paths.batch_label(b) for b in self.batches(case))}")

    def batch_run(self, case: str, label: str) -> Run:
        """What one run job of a case does: its Run for the seeds of its batch."""
        return replace(self.runs[case], seeds=self.batch(case, label))

    def resumed_batches(self, case: str, label: str) -> list[tuple[int, ...]]:
        """The batches of the shorter epochs level whose final states the seeds of a case's run
        job `label` continue; none unless the case continues one."""
        shorter = self.continued_from.get(case)
        if shorter is None:
            return []
        seeds = set(self.batch(case, label))
        return [batch for batch in self.batches(shorter) if seeds & set(batch)]

    def run_inputs(self, case: str, dataset: str, label: str) -> dict[str, str | list[str]]:
        """What a case's run job for the seeds of `label` reads: the data of each split it
        generates for, the train split (and the validation split, for the validation losses) if
        its method learns or searches the train split (nearest neighbours), the train split's
        exact solutions if it trains towards them, the search's best setting for `tuned`, and
        the training states of its seeds where an epochs level continues a shorter one (the
        shorter level's batches that hold them)."""
        run = self.runs[case]
        method = registry.method(run.case["method"])
        splits = [split for split, _ in run.splits]
        if method.learns or "train" in method.needs:
            splits.append("train")
        if method.learns and run.validation_loss:
            splits.append("validation")
        inputs: dict[str, str | list[str]] = {split: paths.dataset(split, dataset) for split in dict.fromkeys(splits)}
        if run.trains_on_solutions:
            inputs["train_solutions"] = paths.fill(paths.TRAIN_SOLUTIONS, dataset=dataset)
        if case == TUNED:
            inputs["best"] = paths.fill(paths.BEST_SETTING, dataset=dataset)
        resumed = self.resumed_batches(case, label)
        if resumed:
            inputs["starts"] = [paths.batch_file("states.pt", batch, dataset, self.continued_from[case])
                                for batch in resumed]
        return inputs

    def score_inputs(self, case: str, dataset: str) -> dict[str, str | list[str]]:
        """What a case's score job reads: what its run jobs wrote of each seed's lines and loss
        history (the final losses in the case's metrics.json), the scored rows and their exact
        solutions, and the search's best setting for `tuned` (the settings its metrics.json lists)."""
        written = run_outputs(self.run_rule(case))
        inputs: dict[str, str | list[str]] = {
            name: [paths.fill(written[name], dataset=dataset, case=case, seeds=paths.batch_label(batch))
                   for batch in self.batches(case)]
            for name in ("lines", "histories") if name in written}
        inputs["targets"] = paths.fill(paths.EXACT_TARGETS, dataset=dataset)
        inputs["solutions"] = paths.fill(paths.EXACT_SOLUTIONS, dataset=dataset)
        if case == TUNED:
            inputs["best"] = paths.fill(paths.BEST_SETTING, dataset=dataset)
        return inputs

    def search_priority(self, trials: int) -> int:
        """Seed-epochs of the search's trials and of the tuned case trained after it: the
        longest chain of the study, so it starts first."""
        return trials * self.search.case["epochs"] + self.training_chain(TUNED)

    def external_file(self, name: str, dataset: str) -> str:
        """The file of an external sample set, which answers the dataset its config entry names."""
        spec = self.external[name]
        if dataset != spec["dataset"]:
            raise PlanError(f"external {name!r} answers {spec['dataset']}'s scoring split: "
                            f"ask for results/{spec['dataset']}/{name}/metrics.json")
        return spec["path"]

    def unknown_target(self, dataset: str, case: str) -> PlanError:
        """The error for a case target whose dataset or case id the config does not have."""
        return PlanError(f"unknown target results/{dataset}/{case}/metrics.json: datasets are "
                         f"{', '.join(self.datasets)}; cases are {', '.join(self.comparison)}")

    def labels(self) -> dict[str, str]:
        """The comparison's cases by short label (case_labels)."""
        return case_labels({case: self.cases[case] for case in self.comparison})

    @property
    def all_seeds(self) -> list[int]:
        return sorted({s for seeds in self.seeds.values() for s in seeds})


def merged(base: dict, overlay: dict) -> dict:
    """Snakemake's --configfile overlay: mappings merged key by key, anything else replaced."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def without_removed(config: dict) -> dict:
    """The config without what an overlay removed by setting it to null: a dataset
    (config/challenge.yaml) or an ablation factor (config/quick.yaml)."""
    out = {**config, "datasets": {name: spec for name, spec in config["datasets"].items() if spec}}
    if config.get("ablations"):
        factors = {factor: spec for factor, spec in config["ablations"]["factors"].items() if spec}
        if not factors:
            raise PlanError("config: ablations.factors: every factor is removed (null); keep at least one, "
                            "or set ablations: null")
        out["ablations"] = {**config["ablations"], "factors": factors}
    return out


def plan(config: dict) -> Plan:
    """The whole study from a validated config; raises PlanError naming what is wrong."""
    ids = [row["case"] for row in config["cases"]]
    repeated = sorted({c for c in ids if ids.count(c) > 1})
    if repeated:
        raise PlanError(f"config: case ids must be unique, repeated: {', '.join(repeated)}")
    reserved = [c for c in ids if c == TUNED or c.startswith(("grid_", f"{ABLATION_PREFIX}-"))]
    if reserved:
        raise PlanError(f"config: case ids {reserved} are reserved (the search's `tuned` case, grid_* "
                        f"and {ABLATION_PREFIX}-* cases are planned from the config); rename them")
    if not config["datasets"]:
        raise PlanError("config: datasets: every dataset is removed (null); keep at least one")
    for name, spec in config["datasets"].items():
        (a1, b1), (a2, b2) = ((term["a"], term["b"]) for term in spec["terms"])
        if a1 * b2 - a2 * b1 == 0:
            raise PlanError(f"config: datasets.{name}: its phases {a1:g}·x0 + {b1:g}·x1 and {a2:g}·x0 + {b2:g}·x1 "
                            f"are proportional, so y depends on each point only through one number and the "
                            f"point (x0, x1) cannot be recovered; give the terms independent phases")
    metric_problem = config_problem(config)
    if metric_problem:
        raise PlanError(f"config: {metric_problem}")
    if config["train"]["method"] not in registry.METHODS:
        raise PlanError(f"config: train.method {config['train']['method']!r} is not a method; "
                        f"methods are {', '.join(registry.METHODS)}")
    # a row's `seeds` is how many times the case runs, not a setting of it
    cases = {row["case"]: case_settings(config["train"], {k: v for k, v in row.items() if k != "seeds"})
             for row in config["cases"]}
    seeds = list(range(config["seeds"]))
    result = Plan(cases=cases, comparison=list(ids), datasets=list(config["datasets"]),
                  seeds={row["case"]: list(range(row.get("seeds", config["seeds"]))) for row in config["cases"]})

    def known(key: str, case: str) -> dict:
        if case not in cases:
            raise PlanError(f"config: {key} {case!r} is not a case; cases are {', '.join(ids)}")
        return cases[case]

    reference = known("reference_case", config["reference_case"])
    if reference["method"] != "cvae":
        raise PlanError(f"config: reference_case {config['reference_case']!r} must be a cvae case (the original study's model)")
    tuning = config.get("tuning")
    if tuning:
        base = known("tuning.base_case", tuning["base_case"])
        if not registry.method(base["method"]).learns:
            raise PlanError(f"config: tuning.base_case {tuning['base_case']!r} must be a case of a method that "
                            f"trains: {', '.join(registry.learned())}")
        check_applies("tuning.grid", tuning["grid"], base)
        check_applies("tuning.space", tuning["space"], base)
        result.grid = grid_cases(tuning, base)
        cases.update(result.grid)
        result.seeds.update({c: seeds[:1] for c in result.grid_jobs})  # a grid point trains with the first seed
        cases[TUNED] = {**base, "case": TUNED, "tuned": True}
        result.comparison.append(TUNED)
        result.seeds[TUNED] = seeds
    if config.get("ablations"):
        check_applies("ablations.factors", config["ablations"]["factors"], reference)
        result.levels, ablation, result.continued_from = ablation_cases(config, reference)
        result.claims = claims(config)
        cases.update(ablation)
        result.seeds.update({c: list(range(config["ablations"]["seeds"])) for c in ablation})
    result.external = dict(config.get("external") or {})
    for name, spec in result.external.items():
        if name in cases or name == "exact":
            raise PlanError(f"config: external {name!r} has the id of a case; give the samples a name of their own")
        if spec["dataset"] not in config["datasets"]:
            raise PlanError(f"config: external {name!r}: dataset {spec['dataset']!r} is not a dataset; datasets are "
                            f"{', '.join(config['datasets'])}")
    _plan_runs(result, config)
    rows = config["data"]["rows"]["scoring"]
    bad_rows = [r for r in config["report"]["rows"] if r >= rows]
    if bad_rows:
        raise PlanError(f"config: report.rows {bad_rows} do not exist: the scoring split has {rows} rows")
    unknown = [c for c in config["report"]["inspect_cases"] if c not in cases]
    if unknown:
        raise PlanError(f"config: report.inspect_cases {unknown} are not cases; cases are {', '.join(result.comparison)}")
    return result


def _plan_runs(result: Plan, config: dict) -> None:
    """Each case's Run. Settings are chosen on the validation split and judged on the scoring
    split: a grid point and the search's trials generate raw lines on the validation rows,
    first seed; the comparison's cases their lines, raw and refined, on the scoring split,
    every seed; an ablation level raw lines on the scoring split, its own seeds. Only the
    comparison's training computes validation losses (its loss curves)."""
    evaluate = config["evaluate"]
    refined, raw = generation(evaluate), generation(evaluate, refine=False)
    validation, scoring = (("validation", evaluate["validation_rows"]),), (("scoring", None),)
    for case in result.comparison:
        result.runs[case] = Run(result.cases[case], tuple(result.seeds[case]), scoring, refined)
    for case in result.grid_jobs:
        result.runs[case] = Run(result.cases[case], tuple(result.seeds[case]), validation, raw, validation_loss=False)
    for case in result.ablation:
        result.runs[case] = Run(result.cases[case], tuple(result.seeds[case]), scoring, raw, validation_loss=False)
    if config.get("tuning"):
        base = config["tuning"]["base_case"]
        result.search = Run(result.cases[base], tuple(result.seeds[base][:1]), validation, raw, validation_loss=False)


