"""A case row of the config as settings: its method's own settings and the training's filled in
and checked, the search's grid points, the `tuned` case's best setting, and the short labels
of figures and sentences. Torch-free."""

from __future__ import annotations

import itertools

import yaml

from sincvae.learn import registry
from sincvae.learn.registry import TRAINING


class PlanError(ValueError):
    """A config that names something that does not exist or cannot be planned."""


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


def check_applies(where: str, keys, case: dict) -> None:
    """Settings a sweep or search varies must be settings of its case's method."""
    foreign = [k for k in keys if k not in applicable(case["method"])]
    if foreign:
        raise PlanError(f"config: {where} varies {', '.join(foreign)}, not a setting of {case['case']!r} "
                        f"(method {case['method']}: {', '.join(applicable(case['method']))})")


def level_text(value) -> str:
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
