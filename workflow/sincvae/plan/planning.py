"""The study's plan from its config: every case with its settings and seeds, the search's grid
and `tuned` cases, the controlled ablations, and the checks that fail early on a bad id.

Torch-free and Snakemake-free: `workflow/rules/common.smk` builds one Plan while parsing, and
the unit tests build one in milliseconds.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import yaml

from sincvae import paths

from sincvae.learn import registry
from sincvae.score.metric_table import config_problem
from sincvae.learn.registry import TRAINING

ABLATION_PREFIX = "ablation"
# The rule families of the run jobs (Plan.run_rule); a family has one rule per seed count (RunGroup).
RUN_FAMILIES = ("train", "train_grid_point", "generate", "ablation", "ablation_continued")
SCORE = "score"  # the rule family of the score jobs, one per run job (Plan.score_groups)
SEEDS_SUFFIX = "_seeds"  # of a family's rule for a seed count other than its most common: train_8_seeds
TUNED = "tuned"
STAGES = ("raw", "refined")  # a method's own lines; the same after refinement


def family_of(rule: str) -> str:
    """The family of a run or score rule (train_8_seeds -> train); any other rule is its own."""
    return re.sub(rf"_\d+{SEEDS_SUFFIX}$", "", rule)


class PlanError(ValueError):
    """A config that names something that does not exist or cannot be planned."""


@dataclass(frozen=True)
class Claim:
    """The original study's claim about one setting: the region it says is best."""

    factor: str
    above: float | None = None  # exclusive lower bound
    below: float | None = None  # exclusive upper bound
    at_least: float | None = None  # inclusive lower bound
    one_of: tuple | None = None  # the claimed choices of a categorical setting

    def holds(self, level) -> bool:
        if self.one_of is not None:
            return level in self.one_of
        return ((self.above is None or level > self.above) and (self.below is None or level < self.below)
                and (self.at_least is None or level >= self.at_least))

    @property
    def text(self) -> str:
        if self.one_of is not None:
            return f"{self.factor} in {{{', '.join(map(str, self.one_of))}}}"
        if self.above is not None and self.below is not None:
            return f"{self.above:g} < {self.factor} < {self.below:g}"
        if self.above is not None:
            return f"{self.factor} > {self.above:g}"
        return f"{self.factor} ≥ {self.at_least:g}"


@dataclass(frozen=True)
class Level:
    """One level of a one-factor sweep: the case that trains it."""

    variant: str
    factor: str
    level: object
    case: str
    in_claim: bool
    reference: bool  # the reference case's own value: the level the claim is judged by


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

    case: dict  # full settings (planning.case_settings)
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


@dataclass(frozen=True)
class RunGroup:
    """One rule of run jobs: the cases of one rule family (Plan.run_rule) that run the same seeds,
    since a rule's outputs list its seeds. Named by its family, or, where a family's cases run
    different seed counts, by family and count for all but its most common count."""

    name: str
    family: str
    seeds: tuple[int, ...]
    cases: tuple[str, ...]


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
    runs: dict[str, Run] = field(default_factory=dict)  # case -> its job's work (training and generation)
    search: Run | None = None  # what each trial of the search runs, with its settings over the base case's
    datasets: list[str] = field(default_factory=list)

    @property
    def learned(self) -> list[str]:
        return [c for c, row in self.cases.items() if registry.method(row["method"]).learns]

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

    def run_groups(self) -> list[RunGroup]:
        """The run jobs' rules (RunGroup), in the plan's order."""
        return self._groups(self.run_rule)

    def score_groups(self) -> list[RunGroup]:
        """The score jobs' rules: family `score`, one rule per seed count."""
        return self._groups(lambda case: SCORE)

    def _groups(self, family_of) -> list[RunGroup]:
        groups: dict[tuple[str, tuple[int, ...]], list[str]] = {}
        for case in self.runs:
            groups.setdefault((family_of(case), tuple(self.seeds[case])), []).append(case)
        common: dict[str, tuple[int, ...]] = {}  # each family's seeds of the most cases (the first on a tie)
        for (family, seeds), cases in groups.items():
            if family not in common or len(cases) > len(groups[family, common[family]]):
                common[family] = seeds
        return [RunGroup(family if seeds == common[family] else f"{family}_{len(seeds)}{SEEDS_SUFFIX}", family,
                         seeds, tuple(cases)) for (family, seeds), cases in groups.items()]

    def run_inputs(self, case: str, dataset: str) -> dict[str, str | list[str]]:
        """What a case's run job reads: the data of each split it generates for, the train split
        (and the validation split, for the validation losses) if its method learns or searches
        the train split (nearest neighbours), the train split's exact solutions if it trains
        towards them, the search's best setting for `tuned`, and each seed's training state
        where an epochs level continues a shorter one."""
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
        shorter = self.continued_from.get(case)
        if shorter is not None:
            inputs["starts"] = [paths.seed_file("state.pt", seed, dataset, shorter) for seed in self.seeds[shorter]]
        return inputs

    def score_inputs(self, case: str, dataset: str) -> dict[str, str | list[str]]:
        """What a case's score job reads: what its run job wrote of each seed's lines and loss
        history (the final losses in the case's metrics.json), the scored rows and their exact
        solutions, and the search's best setting for `tuned` (the settings its metrics.json lists)."""
        written = run_outputs(self.run_rule(case), tuple(self.seeds[case]))
        inputs: dict[str, str | list[str]] = {
            name: [paths.fill(path, dataset=dataset, case=case) for path in written[name]]
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


def applicable(method: str) -> tuple[str, ...]:
    """The case columns a method reads: its own settings, and the training's if it learns."""
    own = tuple(registry.settings_of(method))
    return (*own, *TRAINING) if registry.method(method).learns else own


def case_settings(defaults: dict, row: dict) -> dict:
    """A case row of the config with the `train` defaults and its method's own defaults filled
    in; raises PlanError for an unknown method, a setting the method does not read, a required
    setting left out or a value of the wrong kind."""
    case, name = row["case"], row.get("method", defaults["method"])
    if name not in registry.METHODS:
        raise PlanError(f"config: case {case!r}: unknown method {name!r}; methods are {', '.join(registry.METHODS)}")
    own, columns = registry.settings_of(name), applicable(name)
    foreign = [k for k in row if k not in ("case", "method", *columns)]
    if foreign:
        raise PlanError(f"config: case {case!r}: {', '.join(foreign)} not a setting of method {name} "
                        f"(its settings: {', '.join(columns) or 'none'})")
    missing = [k for k, setting in own.items() if setting.required and k not in row]
    if missing:
        raise PlanError(f"config: case {case!r}: method {name} needs {', '.join(missing)}")
    filled = {**defaults, **{k: s.default for k, s in own.items() if not s.required}, **row, "method": name}
    problem = registry.training_problem(filled)
    if problem:
        raise PlanError(f"config: case {case!r}: {problem}")
    for key, setting in own.items():
        problem = setting.problem(filled[key])
        if problem:
            raise PlanError(f"config: case {case!r}: {key} = {filled[key]!r} {problem}")
    return filled


def _check_applies(where: str, keys, case: dict) -> None:
    """Settings a sweep or search varies must be settings of its case's method."""
    foreign = [k for k in keys if k not in applicable(case["method"])]
    if foreign:
        raise PlanError(f"config: {where} varies {', '.join(foreign)}, not a setting of {case['case']!r} "
                        f"(method {case['method']}: {', '.join(applicable(case['method']))})")


def _number(value) -> str:
    """A level as it reads in a case id: 0.5, 2, l1_mean."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def grid_cases(tuning: dict, base: dict) -> dict[str, dict]:
    """Every combination of the grid's values: `grid_beta~0.5_wy~0.0` -> its full settings."""
    names = list(tuning["grid"])
    cases = {}
    for point in itertools.product(*tuning["grid"].values()):
        values = dict(zip(names, point))
        case = "grid_" + "_".join(f"{k}~{v}" for k, v in values.items())
        cases[case] = {**base, **values, "case": case}
    return cases


def claims(config: dict) -> dict[str, Claim]:
    """The original study's claim per ablated factor (config `ablations.factors.*.claim`)."""
    factors = (config.get("ablations") or {}).get("factors", {})
    return {f: Claim(f, **{k: (tuple(v) if k == "one_of" else v) for k, v in spec["claim"].items()})
            for f, spec in factors.items()}


def _judged_level(claim: Claim, levels: list, ref_value):
    """The level a claim is judged by: the reference case's own value when the claim holds for
    it (the original study's recommendation), else the level inside the claim nearest to it."""
    if claim.holds(ref_value):
        return ref_value
    inside = [v for v in levels if claim.holds(v)]
    numeric = all(isinstance(v, (int, float)) for v in [*inside, ref_value])
    return min(inside, key=lambda v: abs(v - ref_value) if numeric else 0)


def ablation_cases(config: dict, reference: dict) -> tuple[list[Level], dict[str, dict], dict[str, str]]:
    """One-factor sweeps around the reference case: for each variant and factor, a case per level
    with every other setting the reference's. The reference's own value of a factor is the
    variant's `center` case, shared by every factor. Epoch levels continue one another: each
    resumes from the end of the next shorter one, so one run is evaluated at every level.
    Returns (levels, case id -> settings, case -> the case it continues)."""
    ablations = config["ablations"]
    levels, cases, continued = [], {}, {}
    for variant in ablations["variants"]:
        center = f"{ABLATION_PREFIX}-{variant}-center"
        base = {**reference, "variant": variant}
        cases[center] = {**base, "case": center}
        for factor, claim in claims(config).items():
            values, ref_value = ablations["factors"][factor]["levels"], reference[factor]
            if ref_value not in values:
                raise PlanError(f"config: ablations.factors.{factor}.levels {values} must include the "
                                f"reference case's value {ref_value!r}: every sweep varies one setting of it")
            inside = [v for v in values if claim.holds(v)]
            if not inside or len(inside) == len(values):
                raise PlanError(f"config: ablations.factors.{factor}.levels {values} must have levels "
                                f"both inside and outside the claim {claim.text}")
            judged = _judged_level(claim, values, ref_value)
            for value in values:
                case = center if value == ref_value else f"{ABLATION_PREFIX}-{variant}-{factor}{_number(value)}"
                if case != center:
                    cases[case] = {**base, factor: value, "case": case}
                levels.append(Level(variant, factor, value, case, claim.holds(value), value == judged))
        chain = sorted((lv for lv in levels if lv.variant == variant and lv.factor == "epochs"),
                       key=lambda lv: lv.level)
        for shorter, longer in zip(chain, chain[1:]):
            continued[longer.case] = shorter.case
    return levels, cases, continued


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
        _check_applies("tuning.grid", tuning["grid"], base)
        _check_applies("tuning.space", tuning["space"], base)
        result.grid = grid_cases(tuning, base)
        cases.update(result.grid)
        result.seeds.update({c: seeds[:1] for c in result.grid_jobs})  # a grid point trains with the first seed
        cases[TUNED] = {**base, "case": TUNED, "tuned": True}
        result.comparison.append(TUNED)
        result.seeds[TUNED] = seeds
    if config.get("ablations"):
        _check_applies("ablations.factors", config["ablations"]["factors"], reference)
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


# Run outputs that the jobs after the run job delete once read (Snakemake's temp): models
# (3-5 MB each; `--notemp` keeps them, README "Disk") and training states.
TEMPORARY_OUTPUTS = ("models", "states")


def _each_seed(file: str, seeds: tuple[int, ...]) -> list[str]:
    return [paths.seed_file(file, seed) for seed in seeds]


def run_outputs(family: str, seeds: tuple[int, ...]) -> dict[str, list[str]]:
    """What a run job of `family` (RunGroup) writes, with {dataset} and {case} left as
    wildcards: for each of its seeds its lines and timings; the loss history of a method that
    learns; the model of a case the notebooks and latent figures may read; and the training
    state a longer epochs level resumes. Its score job (score_outputs) scores the lines."""
    outputs = {name: _each_seed(file, seeds) for name, file in (("lines", "lines.parquet"), ("timing", "timing.json"))}
    if family in ("train", "train_grid_point"):
        outputs["models"] = _each_seed("model.pt", seeds)
    if family != "generate":
        outputs["histories"] = _each_seed("history.csv", seeds)
    if family == "ablation_continued":
        outputs["states"] = _each_seed("state.pt", seeds)
    return outputs


def score_outputs(seeds: tuple[int, ...]) -> dict[str, str | list[str]]:
    """What a score job writes: for each seed its scores per line and per row and its metrics,
    the case's metrics.json over its seeds, and the seconds its scoring took (calibration's)."""
    outputs: dict[str, str | list[str]] = {name: _each_seed(file, seeds) for name, file in (
        ("scores", "scores.parquet"), ("rows", "rows.parquet"), ("metrics", "metrics.json"))}
    outputs["summary"] = paths.CASE_METRICS
    outputs["timing"] = paths.SCORE_TIMING
    return outputs


def notebook_config(config: dict, dataset: str) -> dict:
    """What the inspection notebook of `dataset` reads of the config. Only this is its params,
    so another case or dataset (an overlay config) leaves the notebook, and the temporary models
    of the cases it inspects, alone."""
    inspected = config["report"]["inspect_cases"]
    return {"train": config["train"], "cases": [row for row in config["cases"] if row["case"] in inspected],
            "datasets": {dataset: config["datasets"][dataset]}, "data": {"tolerance": config["data"]["tolerance"]}}


def id_pattern(ids) -> str:
    """A wildcard pattern for exactly these ids; none: a pattern nothing matches (an empty
    constraint would match anything)."""
    return "|".join(re.escape(i) for i in ids) or "(?!)"


def other_id_pattern(ids) -> str:
    """A wildcard pattern for any path segment except the given ids."""
    return f"(?!(?:{id_pattern(ids)})(?:/|$))[^/]+"


def power_settings(study: Plan, config: dict) -> dict:
    """What sincvae.decide.power.power reads of a plan: every compared case's planned seed count, the
    contenders of a ranking, the primary claim tests of the family and both alphas."""
    ablations = config.get("ablations") or {}
    return {"seeds": {case: len(study.seeds[case]) for case in [*study.contenders, *study.ablation]},
            "rows": config["data"]["rows"]["scoring"], "contenders": len(study.contenders), "ranking_alpha": config["ranking"]["alpha"],
            "claim_tests": len(study.claims) * len(config["datasets"]) * len(ablations.get("variants", [])),
            "claim_alpha": ablations.get("alpha", 0.05)}


def with_best_setting(case: dict, best_path: str | None) -> dict:
    """A case row; for the `tuned` case, with the search's best setting (best.yaml) applied."""
    if not case.get("tuned"):
        return case
    with open(best_path) as f:
        return {**case, **yaml.safe_load(f)["setting"]}


def case_labels(cases: dict[str, dict], most: int = 4) -> dict[str, str]:
    """A short label per case, for figures and sentences (the id stays in the tables): its method,
    and the settings in which it differs from most cases of that method (at most `most`; the id where two labels would be the same), e.g.
    "cvae (wx 0, wy 0)"; "tuned" for the search's case."""
    labels = {}
    for method in dict.fromkeys(settings["method"] for settings in cases.values()):
        group = {case: s for case, s in cases.items() if s["method"] == method}
        keys = ["variant", *(k for k in applicable(method) if k != "variant")]
        common = {}
        for key in keys:
            values = [repr(s.get(key)) for s in group.values()]
            common[key] = max(dict.fromkeys(values), key=values.count)
        for case, settings in group.items():
            differs = [f"{k} {settings.get(k):g}" if isinstance(settings.get(k), (int, float))
                       and not isinstance(settings.get(k), bool) else f"{k} {settings.get(k)}"
                       for k in keys if repr(settings.get(k)) != common[k]][:most]
            if settings.get("tuned"):
                differs = ["tuned"]
            labels[case] = f"{method} ({', '.join(differs)})" if differs and len(group) > 1 else method
    repeated = {label for label in labels.values() if list(labels.values()).count(label) > 1}
    return {case: case if label in repeated else label for case, label in labels.items()}
