"""The controlled ablations that test the original study's claims: each claim's region, and a
one-factor sweep of levels around the reference case per variant and factor, epoch levels
continuing one another. Torch-free."""

from __future__ import annotations

from dataclasses import dataclass

from sincvae.plan.cases import PlanError, level_text

ABLATION_PREFIX = "ablation"


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
                case = center if value == ref_value else f"{ABLATION_PREFIX}-{variant}-{factor}{level_text(value)}"
                if case != center:
                    cases[case] = {**base, factor: value, "case": case}
                levels.append(Level(variant, factor, value, case, claim.holds(value), value == judged))
        chain = sorted((lv for lv in levels if lv.variant == variant and lv.factor == "epochs"),
                       key=lambda lv: lv.level)
        for shorter, longer in zip(chain, chain[1:]):
            continued[longer.case] = shorter.case
    return levels, cases, continued
