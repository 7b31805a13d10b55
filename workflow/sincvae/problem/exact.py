"""Exact inverse: every straight evenly spaced line in the box with f(x) = y.

For one y point, each term fn(a·x0 + b·x1) = y_k fixes the phase a·x0 + b·x1 up to the
branches of asin/acos and shifts by 2πn; each pair of phases is a 2×2 linear system. A line
is fixed by its end points, which solve the point problem at the first and last y; every
pair of end-point solutions with the right slope signs is checked against all points.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from sincvae.problem.forward import ForwardMap, Term
from sincvae.problem.lines import DOMAIN, ends_from_uniforms, lines_from_ends, slopes_ok

TWO_PI = 2 * np.pi
# Refinement (refine_lines), chosen on the default study's candidates: against 30 undamped
# Gauss–Newton steps, as many or more candidates converge for every method, in fewer steps.
INITIAL_DAMPING = 1e-3  # λ relative to diag(JᵀJ)
EXPLORE = 5  # first steps always taken: far starts jump to another basin, as Gauss–Newton would
MEMORY = 5  # a step is taken if its cost is below the largest of this many last taken costs


def phase_range(term: Term) -> tuple[float, float]:
    """The phases a·x0 + b·x1 of the box's points: from its lowest corner to its highest."""
    lo, hi = DOMAIN
    corners = [term.a * u + term.b * v for u in (lo, hi) for v in (lo, hi)]
    return min(corners), max(corners)


def phases(term: Term, value: float, slack: float = 1e-9) -> np.ndarray:
    """All phases p reachable inside the box (within `slack`) with fn(p) = value."""
    value = float(np.clip(value, -1.0, 1.0))
    if term.fn == "sin":
        base = np.array([np.arcsin(value), np.pi - np.arcsin(value)])
    else:
        base = np.array([np.arccos(value), -np.arccos(value)])
    lo, hi = phase_range(term)
    shifts = np.arange(np.floor((lo - base.max()) / TWO_PI), np.ceil((hi - base.min()) / TWO_PI) + 1)
    p = (base[:, None] + TWO_PI * shifts[None]).ravel()
    return np.unique(p[(p >= lo - slack) & (p <= hi + slack)])


def solve_points(fmap: ForwardMap, y: np.ndarray, tolerance: float = 1e-6) -> np.ndarray:
    """All x in the box with f(x) = y for one point y (2,) -> (M, 2), y known to `tolerance`:
    points that far outside the box (phase_slack, point_slack) are kept, projected onto it."""
    t1, t2 = fmap.terms
    p1, p2 = phases(t1, y[0], phase_slack(tolerance)), phases(t2, y[1], phase_slack(tolerance))
    rhs = np.stack(np.meshgrid(p1, p2, indexing="ij"), -1).reshape(-1, 2)
    matrix = fmap.coefficients
    x = np.linalg.solve(matrix, rhs.T).T
    lo, hi = DOMAIN
    slack = point_slack(fmap, tolerance)
    return x[((x >= lo - slack) & (x <= hi + slack)).all(1)].clip(lo, hi)


def phase_slack(tolerance: float) -> float:
    """How far a phase solved from a value with errors up to `tolerance` may be off: near a
    turning point (|y| = 1) an error e moves it by up to sqrt(2e), elsewhere by about e."""
    return float(np.sqrt(2 * tolerance) + tolerance)


@functools.cache  # called for both end points of every y: one matrix inverse per map
def _slack_gain(fmap: ForwardMap) -> float:
    """Largest point error per unit of error in each phase: sqrt(2) · ‖M⁻¹‖₂, M the coefficients."""
    return float(np.sqrt(2) * np.linalg.norm(np.linalg.inv(fmap.coefficients), 2))


def point_slack(fmap: ForwardMap, tolerance: float) -> float:
    """How far outside the box, or against a line's direction, a point solved from a y with
    errors up to `tolerance` may land: the phases' slack through the inverse coefficient matrix."""
    return phase_slack(tolerance) * _slack_gain(fmap)


@functools.cache
def forward_tolerance(fmap: ForwardMap, distance: float) -> float:
    """The largest max |f(x) − y| of a point that keeps it within `distance` of an exact point
    solution, turning points (|y| = 1, where the phase error is sqrt(2e)) included: the inverse
    of point_slack. A line whose every point solves y this well is, point by point, as close to
    a solution as the match distance."""
    # point_slack(e) = (sqrt(2e) + e) · c  =>  s² + sqrt(2)·s − distance / c = 0 with s = sqrt(e)
    root = (-np.sqrt(2) + np.sqrt(2 + 4 * distance / _slack_gain(fmap))) / 2
    return float(root * root)


def line_jacobian(fmap: ForwardMap, theta: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Lines from end points theta = (start0, start1, end0, end1): (B, 4).

    Returns (lines (B, 2, L), Jacobian of f(line) with respect to theta, (B, 2L, 4)).
    """
    t = np.linspace(0.0, 1.0, length)
    a = fmap.coefficients  # (2 terms, 2 coords)
    x = lines_from_ends(theta[:, :2], theta[:, 2:], length)
    phase = np.einsum("kc,bcl->bkl", a, x)
    slope = np.stack([np.cos(phase[:, k]) if term.fn == "sin" else -np.sin(phase[:, k])
                      for k, term in enumerate(fmap.terms)], 1)  # d fn / d phase: (B, k, L)
    d_dx = slope[:, :, None, :] * a[None, :, :, None]  # (B, k, c, L)
    jac = np.concatenate([d_dx * (1 - t), d_dx * t], 2)  # (B, k, 4, L)
    return x, jac.transpose(0, 1, 3, 2).reshape(len(theta), -1, 4)


def _residuals(fmap: ForwardMap, theta: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Residuals f(line) − y and d fn / d phase at each point, both (B, terms, L), for end points theta (B, 4)."""
    a = fmap.coefficients
    first, last = theta[:, :2] @ a.T, theta[:, 2:] @ a.T  # phases at the end points: (B, terms)
    # The phases along a line step evenly, so exp(i·phase) is a running product of one rotation:
    # 2 complex exponentials per line and term instead of 2 × L sines and cosines.
    length = y.shape[-1]
    rotations = np.empty((*first.shape, length), dtype=complex)
    rotations[..., 0] = np.exp(1j * first)
    rotations[..., 1:] = np.exp(1j * (last - first) / (length - 1))[..., None]
    turned = np.cumprod(rotations, -1)
    sin, cos = turned.imag, turned.real
    sine = np.array([term.fn == "sin" for term in fmap.terms])[None, :, None]
    return np.where(sine, sin, cos) - y, np.where(sine, cos, -sin)


def _normal_equations(fmap: ForwardMap, r: np.ndarray, slope: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """JᵀJ (B, 4, 4) and Jᵀr (B, 4) without forming J: point l of term k depends on end-point
    coordinate c through a_kc · slope_kl times (1 − t_l) for the start and t_l for the end."""
    a = fmap.coefficients
    t = np.linspace(0.0, 1.0, r.shape[-1])
    weights = np.stack([1 - t, t], 1)  # (L, start/end)
    pairs = (weights[:, :, None] * weights[:, None, :]).reshape(-1, 4)  # (L, start/end × start/end)
    curvature = ((slope * slope) @ pairs).reshape(*slope.shape[:2], 2, 2)
    normal = np.einsum("bkwv,kcd->bwcvd", curvature, a[:, :, None] * a[:, None, :]).reshape(len(r), 4, 4)
    gradient = np.einsum("bkw,kc->bwc", (slope * r) @ weights, a).reshape(len(r), 4)
    return normal, gradient


def refine_lines(fmap: ForwardMap, starts: np.ndarray, ends: np.ndarray, y: np.ndarray, steps: int,
                 tolerance: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Levenberg–Marquardt on the 4 end-point coordinates of lines, kept inside the box.

    starts, ends: (B, 2); y: (B, 2, L) targets. Each line takes at most `steps` trial steps
    (JᵀJ + λ·diag(JᵀJ)) δ = −Jᵀr, projected into the box. After the first EXPLORE steps, which
    are always taken (Gauss–Newton jumps that let a far start reach another basin), a step is
    taken only if its sum of squared residuals is below the largest of the last MEMORY taken
    (non-monotone acceptance); λ is divided by 3 after a decrease and multiplied by 4 after a
    refusal. A line stops once max |f(x) − y| ≤ `tolerance`, or once λ reaches 1e8 (no step helps).
    Returns refined (starts, ends).
    """
    lo, hi = DOMAIN
    theta = np.concatenate([starts, ends], 1).astype(np.float64)
    y = y.astype(np.float64)
    active = np.arange(len(theta))
    r, slope = _residuals(fmap, theta, y)
    cost = (r * r).sum((1, 2))
    recent = np.repeat(cost[:, None], MEMORY, 1)  # costs of the last taken iterates
    damping = np.full(len(theta), INITIAL_DAMPING)
    for step_index in range(steps):
        going = (np.abs(r).max((1, 2)) > tolerance) & (damping < 1e8)
        if not going.all():
            active, r, slope, cost, recent, damping = (
                v[going] for v in (active, r, slope, cost, recent, damping))
        if not len(active):
            break
        normal, gradient = _normal_equations(fmap, r, slope)
        diagonal = np.diagonal(normal, axis1=1, axis2=2)
        normal = normal + (damping[:, None] * diagonal + 1e-12)[:, :, None] * np.eye(4)
        step = np.linalg.solve(normal, -gradient[..., None])[..., 0]
        trial = np.clip(theta[active] + step, lo, hi)
        r_trial, slope_trial = _residuals(fmap, trial, y[active])
        cost_trial = (r_trial * r_trial).sum((1, 2))
        taken = (cost_trial < recent.max(1)) | (step_index < EXPLORE)
        damping = np.where(cost_trial < cost, np.maximum(damping / 3, 1e-9), np.where(taken, damping, damping * 4))
        theta[active[taken]] = trial[taken]
        r[taken], slope[taken], cost[taken] = r_trial[taken], slope_trial[taken], cost_trial[taken]
        recent[taken] = np.concatenate([recent[taken, 1:], cost_trial[taken, None]], 1)
    return theta[:, :2], theta[:, 2:]


def posterior_weights(fmap: ForwardMap, lines: np.ndarray) -> np.ndarray:
    """Weights of the exact solutions of one y under the data's prior, summing to 1.

    lines: (S, 2, L). With y observed through vanishing isotropic noise, the posterior puts
    mass p(θ) / sqrt(det JᵀJ) on each solution θ (end points; J the Jacobian of f(line) in θ).
    The original study's generator gives p(θ) ∝ 1 / ((1 − x0_end)(1 − x1_start)).
    """
    theta = np.concatenate([lines[:, :, 0], lines[:, :, -1]], 1)
    _, jac = line_jacobian(fmap, theta, lines.shape[-1])
    volume = np.sqrt(np.linalg.det(jac.transpose(0, 2, 1) @ jac))
    prior = 1.0 / ((1 - theta[:, 2]).clip(1e-9) * (1 - theta[:, 1]).clip(1e-9))
    weights = prior / volume
    return weights / weights.sum()


def solve_lines(fmap: ForwardMap, y: np.ndarray, tolerance: float = 1e-5,
                candidate_tolerance: float = 0.05, dedupe: float = 1e-3) -> np.ndarray:
    """All evenly spaced lines x (x0 falling, x1 rising) in the box with f(x) = y.

    y: (2, L). Returns (S, 2, L), each line with max |f(x) − y| ≤ tolerance. End points
    are solved exactly, then polished by a few Gauss–Newton steps on all points, since
    inverting float32 y near a turning point (|y| ≈ 1) loses precision. A y with errors up to
    `tolerance` may put an end point just outside the box or a constant coordinate's end just
    against the line's direction: within point_slack both are projected back, then judged
    by the tolerance.
    """
    length = y.shape[-1]
    slack = point_slack(fmap, tolerance)
    first, last = solve_points(fmap, y[:, 0], tolerance), solve_points(fmap, y[:, -1], tolerance)
    if len(first) == 0 or len(last) == 0:
        return np.empty((0, 2, length))
    s = np.repeat(first, len(last), 0)
    e = np.tile(last, (len(first), 1))
    keep = slopes_ok(s, e, slack)
    s, e = _directed(s[keep], e[keep])
    error = np.abs(fmap(lines_from_ends(s, e, length)) - y).max((1, 2))
    s, e = s[error < candidate_tolerance], e[error < candidate_tolerance]
    if len(s) == 0:
        return np.empty((0, 2, length))
    s, e = refine_lines(fmap, s, e, np.broadcast_to(y, (len(s), *y.shape)), steps=10)
    keep = slopes_ok(s, e, slack)  # refinement may tip a slope
    s, e = _directed(s[keep], e[keep])
    lines = lines_from_ends(s, e, length)
    lines = lines[np.abs(fmap(lines) - y).max((1, 2)) <= tolerance]
    unique: list[np.ndarray] = []
    for line in lines:
        if all(np.abs(line - u).max() > dedupe for u in unique):
            unique.append(line)
    return np.stack(unique) if unique else np.empty((0, 2, length))


def _directed(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """End points with x0 not rising and x1 not falling: a slope within the slack against the
    line's direction becomes a constant coordinate."""
    ends = ends.copy()
    ends[:, 0] = np.minimum(ends[:, 0], starts[:, 0])
    ends[:, 1] = np.maximum(ends[:, 1], starts[:, 1])
    return starts, ends


class NoSolution(ValueError):
    """A y that no line in the box solves within the tolerance."""


def best_residual(fmap: ForwardMap, y: np.ndarray, starts: int = 256, seed: int = 0) -> float:
    """The smallest max |f(x) − y| that multi-start least squares reaches for one y (2, L):
    how far an unsolvable y is from being solvable."""
    generator = np.random.default_rng(seed)
    ends = ends_from_uniforms(generator.random((starts, 4)))
    s, e = refine_lines(fmap, ends[:, :2], ends[:, 2:], np.broadcast_to(y, (starts, *y.shape)), steps=30)
    return float(np.abs(fmap(lines_from_ends(s, e, y.shape[-1])) - y).max((1, 2)).min())


def solve_split(fmap: ForwardMap, y: np.ndarray, tolerance: float,
                known: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Exact solutions (max |f(x) − y| ≤ tolerance) and posterior weights for every row of y:
    (N, 2, L). `known`: the lines the rows were made from (a data file's X); one that solves its
    row within the tolerance is a solution even where the enumerator's least-squares polish,
    which minimises the squared and not the largest error, ends just above the tolerance (a y
    with errors near it). A row without any solution raises NoSolution naming the row and its
    best residual: no score of it would mean anything (coverage of nothing, MMD to nothing)."""
    solutions = []
    for index, row in enumerate(y.astype(np.float64)):
        lines = solve_lines(fmap, row, tolerance)
        if known is not None:
            own = known[index][None].astype(np.float64)
            missed = not len(lines) or np.abs(lines - own).max((1, 2)).min() > 1e-3
            if missed and np.abs(fmap(own) - row).max() <= tolerance:
                lines = np.concatenate([lines.reshape(-1, *own.shape[1:]), own])
        if len(lines) == 0:
            raise NoSolution(f"row {index} has no solution: no line in the box solves its y within the tolerance "
                             f"{tolerance:g} (best residual {best_residual(fmap, row):.3g})")
        solutions.append((lines, posterior_weights(fmap, lines)))
    return solutions


def solutions_frame(split: str, solutions: list[tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """Long format: split, row, solution, point, x0, x1, weight."""
    parts = []
    for row, (lines, weights) in enumerate(solutions):
        count, _, length = lines.shape
        index = np.indices((count, length)).reshape(2, -1)
        parts.append(pd.DataFrame({
            "split": split, "row": row, "solution": index[0], "point": index[1],
            "x0": lines[:, 0].reshape(-1), "x1": lines[:, 1].reshape(-1), "weight": weights[index[0]],
        }))
    return pd.concat(parts, ignore_index=True)


def solutions_by_split(frame: pd.DataFrame) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """solutions_from_frame for every split the frame holds, each for the rows it solved."""
    return {split: solutions_from_frame(frame, split, int(part["row"].max()) + 1)
            for split, part in frame.groupby("split", sort=False)}


def solutions_from_frame(frame: pd.DataFrame, split: str, rows: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Inverse of solutions_frame for the first `rows` rows of one split."""
    picked = frame[frame["split"] == split]
    by_row = dict(tuple(picked.groupby("row")))
    solutions = []
    for row in range(rows):
        if row not in by_row:
            solutions.append((np.empty((0, 2, 0)), np.empty(0)))
            continue
        part = by_row[row].sort_values(["solution", "point"])
        count, length = part["solution"].max() + 1, part["point"].max() + 1
        lines = part[["x0", "x1"]].to_numpy().reshape(count, length, 2).transpose(0, 2, 1)
        solutions.append((lines, part["weight"].to_numpy()[::length]))
    return solutions
