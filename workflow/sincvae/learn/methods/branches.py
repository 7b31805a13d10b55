"""Phase branches: which solution of the map's equations, learned; where it lies, solved.

Each term's phase p = a·x0 + b·x1 at a line's end point satisfies fn(p) = y there, so p is fixed
by y up to its branch: the half period h = floor((p − offset) / π) it lies in (offset 0 for cos,
π/2 for sin, where fn is monotonic between turning points). Given h,

    p = offset + h·π + (q if h is even else π − q),  q = arccos(fn shifted to a cosine of y),

exactly, and the end point is M⁻¹·(p1, p2), M the map's coefficients. A line is its two end
points: four branch labels (h1, h2 at the start, h1, h2 at the end), drawn autoregressively
like the bins' coordinates (each head sees the earlier labels). Only the branches are learned,
a classification with a handful of classes per label; the continuous values come from y
through the map's formula, so a line with the right branches solves y to the precision of y
itself. It needs an invertible M (two independent phases), which every map of two terms in
general position has.

The heads learn every label over all its classes. The formula also solves every class of a
label at once, so sampling draws each label only among the classes that keep the line in the
box, x0 falling and x1 rising (the start point inside for some class of the next label, the end
point inside and after the start for some class of the last): the heads' probability of lines
that solve f outside the problem's domain goes, renormalised, to the lines inside it. The end
point's labels are drawn sharper than the start's (`end_temperature`): the start chooses the
solution, and y along the line fixes the end that goes with it. With `ends: checked` (the
default) the formula completes the line: each term's phase runs linearly from start to end, so
an end class solves its term of y along the line or misses it. The drawn start is kept if some
end in the box after it solves both terms (then the line is an exact solution); else it moves to
the nearest start, in x, among the classes one above and below each start label that has such
an end (a start beside a turning point, whose mirror across it lies a hair away, is the common
case); else it stays, and the heads choose the end as with `ends: learned`. The end is drawn among
the classes that solve y. Which start, hence which solution, is what the heads choose; an
untrained model draws solutions too, at the wrong weights (docs/methods.md "Phase branches").
(Training over the admissible classes only, measured on data_2, drew lines further from the
posterior: distance 0.085 against 0.052, one seed.)
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .layers import Arccos, Fp32Linear, draw_class, ends_of, silu_layers
from sincvae.problem.exact import phase_range, phase_slack
from sincvae.problem.lines import DOMAIN, POINTS, lines_from_ends, slopes_ok
from sincvae.score.metrics import LINE_SLACK

LABELS = 4  # a half-period branch for each of the 2 phases at each of the 2 end points
NEIGHBOURS = (0, -1, 1)  # the start label drawn and the classes beside it (ends: checked)
# max |f(x) − y| of a line with the right labels: the phase error of arccos at a turning point
# of a float32 y (exact.phase_slack of its spacing), which a wrong neighbour misses by more
SOLVED = phase_slack(float(np.finfo(np.float32).eps))
BLOCK = 2048  # rows per block of _complete


class PhaseBranches(nn.Module):
    def __init__(self, settings, context):
        super().__init__()
        self.settings = settings
        fmap = context.fmap
        matrix = fmap.coefficients
        if abs(np.linalg.det(matrix)) < 1e-9 * np.abs(matrix).max() ** 2:
            raise ValueError(f"method branches needs two independent phases; the map {fmap} has a singular "
                             f"coefficient matrix {matrix.tolist()}")
        self.register_buffer("inverse", torch.tensor(np.linalg.inv(matrix)), persistent=False)
        self.register_buffer("matrix", torch.tensor(matrix), persistent=False)
        offsets = [0.0 if term.fn == "cos" else math.pi / 2 for term in fmap.terms]
        lows, counts = [], []
        for term, offset in zip(fmap.terms, offsets):
            lo, hi = phase_range(term)
            first, last = math.floor((lo - offset) / math.pi), math.floor((hi - offset) / math.pi)
            lows.append(first)
            counts.append(last - first + 1)
        # per label (phase 1 and 2 at the start, then at the end)
        self.register_buffer("offsets", torch.tensor(offsets * 2, dtype=torch.float64), persistent=False)
        self.register_buffer("lows", torch.tensor(lows * 2), persistent=False)
        self.classes = counts * 2
        width = settings.hidden
        self.embed = Arccos()
        self.trunk = nn.Sequential(*silu_layers(4 * POINTS, width, settings.layers))
        self.heads = nn.ModuleList(
            nn.Sequential(*silu_layers(width + sum(self.classes[:j]), width, 2), Fp32Linear(width, self.classes[j]))
            for j in range(LABELS))

    def labels(self, x: torch.Tensor) -> torch.Tensor:
        """Lines (B, 2, L) -> their branch labels (B, 4), each in 0 .. classes − 1."""
        theta = ends_of(x).double()
        phase = torch.cat([theta[:, :2] @ self.matrix.T, theta[:, 2:] @ self.matrix.T], 1)
        half = torch.floor((phase - self.offsets) / math.pi).long() - self.lows
        return torch.stack([half[:, j].clamp(0, self.classes[j] - 1) for j in range(LABELS)], 1)

    def _phases(self, half: torch.Tensor, values: torch.Tensor, j: int) -> torch.Tensor:
        """Label j's phase for half periods `half` (absolute, N × any) from its y values (N, 1)."""
        q = torch.arccos(values)  # fn(p) = cos(p − offset): a sine is a cosine a quarter period later
        return self.offsets[j] + half * math.pi + torch.where(half % 2 == 1, math.pi - q, q)

    def ends(self, labels: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Branch labels (N, 4) and the y each answers (N, 2, L) -> the end points θ (N, 4), float64:
        each phase solved from y at its end point in its half period, then M⁻¹."""
        values = _end_values(y)
        phase = torch.stack([self._phases(labels[:, j:j + 1] + self.lows[j], values[:, j:j + 1], j)[:, 0]
                             for j in range(LABELS)], 1)
        return torch.cat([phase[:, :2] @ self.inverse.T, phase[:, 2:] @ self.inverse.T], 1)

    def _domain(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Every start point and every end point the labels can give, (N, C0, C1, 2) and
        (N, C2, C3, 2), and which starts (N, C0, C1) lie in the box with some end in the box
        after them (x0 not rising, x1 not falling)."""
        values = _end_values(y)
        phases = [self._phases(torch.arange(self.classes[j], device=y.device) + self.lows[j], values[:, j:j + 1], j)
                  for j in range(LABELS)]
        starts, ends = (torch.stack(torch.broadcast_tensors(p1[:, :, None], p2[:, None, :]), -1) @ self.inverse.T
                        for p1, p2 in (phases[:2], phases[2:]))
        flat_starts, flat_ends = starts.flatten(1, 2)[:, :, None], ends.flatten(1, 2)[:, None]
        reachable = (_inside(flat_ends) & slopes_ok(flat_starts, flat_ends, LINE_SLACK)).any(2).view(starts.shape[:3])
        return starts, ends, _inside(starts) & reachable

    def _admissible(self, j: int, domain: tuple[torch.Tensor, ...], earlier: list[torch.Tensor]) -> torch.Tensor:
        """Label j's classes (N, C_j) that, given the earlier labels, keep the line in the box
        and directed for some class of the labels after it."""
        starts, ends, good_starts = domain
        rows = torch.arange(len(starts), device=starts.device)
        if j == 0:
            return good_starts.any(2)
        if j == 1:
            return good_starts[rows, earlier[0]]
        good_ends = _inside(ends) & slopes_ok(starts[rows, earlier[0], earlier[1]][:, None, None], ends, LINE_SLACK)
        return good_ends.any(2) if j == 2 else good_ends[rows, earlier[2]]

    def _misses(self, y: torch.Tensor, near: list[torch.Tensor]) -> list[torch.Tensor]:
        """Per term, (N, S, C_end): how far the line misses that term of y (N, 2, L) at its worst
        point, with the start label at each of that term's S classes `near` (N, S) and the end
        label at each class: the term's phase runs linearly from start to end."""
        values = _end_values(y)
        along = torch.linspace(0, 1, y.shape[-1], dtype=torch.float64, device=y.device)
        misses = []
        for term in range(2):
            end = LABELS // 2 + term
            first = self._phases(near[term] + self.lows[term], values[:, term:term + 1], term)[:, :, None, None]
            last = self._phases(torch.arange(self.classes[end], device=y.device) + self.lows[end],
                                values[:, end:end + 1], end)[:, None, :, None]
            phase = first + (last - first) * along  # (N, S, C, L)
            misses.append((torch.cos(phase - self.offsets[term]) - y[:, None, None, term].double()).abs().amax(-1))
        return misses

    def _complete(self, y: torch.Tensor, starts: list[torch.Tensor], domain: tuple[torch.Tensor, ...]
                  ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """The drawn start labels, or, where no end in the box and after them gives y along the
        line, the nearest start (in x) among the classes beside them that has one; and per end
        label, (N, C_2) and (N, C_3), the classes that, joined to that start, solve their term
        of y along the line. Rows in blocks: the misses hold 3 × C × L numbers per row."""
        picked, solving = [[], []], [[], []]
        step = torch.tensor(NEIGHBOURS, device=y.device)
        for block in torch.split(torch.arange(len(y), device=y.device), BLOCK):
            all_starts, all_ends, good_starts = (t[block] for t in domain)
            rows = torch.arange(len(block), device=y.device)
            near = [(s[block][:, None] + step).clamp(0, self.classes[t] - 1) for t, s in enumerate(starts)]
            solves = [m <= SOLVED for m in self._misses(y[block], near)]  # (n, 3, C)
            points = all_starts[rows[:, None, None], near[0][:, :, None], near[1][:, None, :]]  # (n, 3, 3, 2)
            good_ends = _inside(all_ends)[:, None, None] & slopes_ok(points[:, :, :, None, None], all_ends[:, None, None],
                                                                     LINE_SLACK)  # (n, 3, 3, C2, C3)
            completes = (solves[0][:, :, None, :, None] & solves[1][:, None, :, None, :] & good_ends).any((-2, -1))
            completes &= good_starts[rows[:, None, None], near[0][:, :, None], near[1][:, None, :]]
            away = (points - points[:, :1, :1]).norm(dim=-1).masked_fill(~completes, math.inf).flatten(1)
            choice = torch.where(completes[:, 0, 0] | ~completes.flatten(1).any(1), 0, away.argmin(1))
            which = (choice // len(NEIGHBOURS), choice % len(NEIGHBOURS))
            for term in range(2):
                picked[term].append(near[term][rows, which[term]])
                solving[term].append(solves[term][rows, which[term]])
        return [torch.cat(p) for p in picked], [torch.cat(e) for e in solving]

    def _logits(self, h: torch.Tensor, earlier: list[torch.Tensor], j: int) -> torch.Tensor:
        """Label j's logits (fp32, the head's) given the trunk's h and the earlier labels, one-hot."""
        inputs = [h] + [nn.functional.one_hot(e, self.classes[i]).to(h.dtype) for i, e in enumerate(earlier)]
        return self.heads[j](torch.cat(inputs, 1))

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Negative log-likelihood of the lines' branch labels, each given the true earlier ones."""
        target = self.labels(x)
        h = self.trunk(self.embed(y))
        earlier = [target[:, i] for i in range(LABELS)]
        parts = [nn.functional.cross_entropy(self._logits(h, earlier[:j], j), target[:, j]) for j in range(LABELS)]
        nll = torch.stack(parts).sum()
        return nll, {"nll": nll}

    def _solutions(self, y: torch.Tensor) -> list[torch.Tensor]:
        """Per row of y (N, 2, L), the labels (S, 4) of every line in the box, x0 not rising and
        x1 not falling, that solves both terms of y at every point: a pair of classes (start,
        end) per term whose phase, run linearly between them, misses that term by at most
        SOLVED, joined with the other term's pairs where both points lie in the box."""
        every = [torch.arange(self.classes[t], device=y.device) for t in range(2)]
        pairs_per_row = max(self.classes[0] * self.classes[2], self.classes[1] * self.classes[3])
        rows = max(1, BLOCK * len(NEIGHBOURS) * max(self.classes) // pairs_per_row)  # _complete's memory per block
        found = []
        for block in torch.split(torch.arange(len(y), device=y.device), rows):
            starts, ends, good_starts = self._domain(y[block])
            solves = [m <= SOLVED for m in self._misses(y[block], [c.expand(len(block), -1) for c in every])]
            for row in range(len(block)):
                first, second = (s[row].nonzero() for s in solves)  # (n, 2): start and end class of a term
                pairs = torch.cartesian_prod(torch.arange(len(first)), torch.arange(len(second)))
                labels = torch.stack([first[pairs[:, 0], 0], second[pairs[:, 1], 0],
                                      first[pairs[:, 0], 1], second[pairs[:, 1], 1]], 1)
                start, end = starts[row, labels[:, 0], labels[:, 1]], ends[row, labels[:, 2], labels[:, 3]]
                keep = good_starts[row, labels[:, 0], labels[:, 1]] & _inside(end) & slopes_ok(start, end, LINE_SLACK)
                found.append(labels[keep])
        return found

    def _log_probability(self, h: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The heads' log-probability (N,) of labels (N, 4), each given the earlier ones."""
        earlier = [labels[:, i] for i in range(LABELS)]
        return sum(torch.log_softmax(self._logits(h, earlier[:j], j).float(), 1).gather(1, labels[:, j:j + 1])[:, 0]
                   for j in range(LABELS))

    @torch.no_grad()
    def generate(self, y: torch.Tensor, samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """y (B, 2, L) -> K lines per y (B, K, 2, L), end points solved from y. draw: solutions:
        each y's lines that solve it (_solutions) drawn by the heads' probability at
        `temperature` with `generator`; rows without one, and draw: labels, label by label."""
        h = self.trunk(self.embed(y))
        labels = torch.zeros(len(y), samples, LABELS, dtype=torch.long, device=y.device)
        by_labels = torch.ones(len(y), dtype=torch.bool, device=y.device)
        if self.settings.draw == "solutions":
            for row, found in enumerate(self._solutions(y)):
                if len(found):
                    logits = self._log_probability(h[row].expand(len(found), -1), found)[None]
                    picks = draw_class(logits.expand(samples, -1), self.settings.temperature, generator)
                    labels[row], by_labels[row] = found[picks], False
        if by_labels.any():
            labels[by_labels] = self._draw_labels(y[by_labels], h[by_labels], samples, generator)
        theta = self.ends(labels.flatten(0, 1), y.repeat_interleave(samples, 0)).view(len(y), samples, LABELS)
        return lines_from_ends(theta[..., :2], theta[..., 2:], y.shape[-1]).to(y.dtype)

    def _draw_labels(self, y: torch.Tensor, h: torch.Tensor, samples: int, generator: torch.Generator | None
                     ) -> torch.Tensor:
        """K label sets per y (B, K, 4) drawn label by label from the heads' softmax over the
        admissible classes (the start's at `temperature`, the end's at `end_temperature`,
        among those that give y along the line if `ends` is checked)."""
        h = h.repeat_interleave(samples, 0)
        repeated = y.repeat_interleave(samples, 0)
        domain = tuple(t.repeat_interleave(samples, 0) for t in self._domain(y))
        picked: list[torch.Tensor] = []
        for j in range(LABELS):
            start = j < LABELS // 2  # the start point's labels come first
            if j == LABELS // 2 and self.settings.ends == "checked":
                picked, consistent = self._complete(repeated, picked, domain)
            admissible = self._admissible(j, domain, picked)
            admissible |= ~admissible.any(1, keepdim=True)  # none: a y no line in the box solves; draw from all
            if not start and self.settings.ends == "checked":
                checked = admissible & consistent[j - LABELS // 2]
                admissible = torch.where(checked.any(1, keepdim=True), checked, admissible)
            logits = self._logits(h, picked, j).float().masked_fill(~admissible, -math.inf)
            picked.append(draw_class(logits, self.settings.temperature if start else self.settings.end_temperature,
                                     generator))
        return torch.stack(picked, 1).view(len(y), samples, LABELS)

def _end_values(y: torch.Tensor) -> torch.Tensor:
    """y (N, 2, L) -> each label's value (N, 4): y1, y2 at the start, then at the end, float64."""
    return torch.cat([y[..., 0], y[..., -1]], 1).double().clamp(-1, 1)


def _inside(points: torch.Tensor) -> torch.Tensor:
    """Points (..., 2) in the box, up to the scoring's float32 slack (metrics.forward_valid)."""
    lo, hi = DOMAIN
    return ((points >= lo - LINE_SLACK) & (points <= hi + LINE_SLACK)).all(-1)
