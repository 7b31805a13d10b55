"""The report's and the Findings' text: the Jinja2 templates of templates/ with the filters that
write their numbers (a dash for a missing one, intervals as mean [low, high])."""

from __future__ import annotations

import math

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value, digits: int = 3) -> str:
    """A number as the report writes it: `digits` significant digits, a dash for NaN; large
    values in full (303 s of training, not 3e+02)."""
    if _missing(value):
        return "—"
    if isinstance(value, str):
        return value
    text = f"{value:.{digits}g}"
    return f"{float(text):,.0f}" if "e+" in text else text


def count(value) -> str:
    """A whole number with thousands separators (10,000), a dash for NaN."""
    if _missing(value):
        return "—"
    return f"{value:,.0f}"


def with_interval(values: dict) -> str:
    """mean [low, high], or the mean alone when there is no interval."""
    if math.isnan(values["low"]):
        return number(values["mean"])
    return f"{number(values['mean'])} [{number(values['low'])}, {number(values['high'])}]"


def templates() -> Environment:
    """The report's templates (sincvae/show/templates), HTML autoescaped, with the number filters."""
    env = Environment(loader=PackageLoader("sincvae.show", "templates"), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html.j2"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = number
    env.filters["ci"] = with_interval
    env.filters["count"] = count
    env.filters["capitalize_first"] = lambda text: text[:1].upper() + text[1:]
    return env


def render_markdown(found: dict, run: dict) -> str:
    """results/findings.md: the Findings section as Markdown, for the README to quote.
    run: what produced it (config hash, commit, seeds)."""
    return templates().get_template("findings.md.j2").render(found=found, run=run)
