"""Forward maps y = f(x): two sinusoidal terms, y_k = fn_k(a_k * x0 + b_k * x1)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sincvae.problem.lines import array_module

FUNCTIONS = ("sin", "cos")


@dataclass(frozen=True)
class Term:
    fn: str  # "sin" or "cos"
    a: float  # coefficient of x0
    b: float  # coefficient of x1

    def __post_init__(self):
        if self.fn not in FUNCTIONS:
            raise ValueError(f"term function must be one of {FUNCTIONS}, got {self.fn!r}")

    def __str__(self) -> str:
        return f"{self.fn}({self.a:g}·x0 + {self.b:g}·x1)"


@dataclass(frozen=True)
class ForwardMap:
    terms: tuple[Term, Term]

    @classmethod
    def from_config(cls, spec: dict) -> ForwardMap:
        """Build from a dataset's config entry: ``{"terms": [{"fn", "a", "b"}, ...]}``."""
        terms = tuple(Term(t["fn"], float(t["a"]), float(t["b"])) for t in spec["terms"])
        if len(terms) != 2:
            raise ValueError(f"a forward map needs exactly 2 terms, got {len(terms)}")
        return cls(terms)

    @property
    def coefficients(self) -> np.ndarray:
        """(terms, coordinates): row k is (a_k, b_k), so the phases are coefficients @ x."""
        return np.array([[term.a, term.b] for term in self.terms])

    def __call__(self, x):
        """x: (..., 2, L) tensor or array -> y: (..., 2, L), same type and dtype."""
        lib = array_module(x)
        x0, x1 = x[..., 0, :], x[..., 1, :]
        ys = [getattr(lib, t.fn)(t.a * x0 + t.b * x1) for t in self.terms]
        return lib.stack(ys, -2)

    def __str__(self) -> str:
        return f"y1 = {self.terms[0]}, y2 = {self.terms[1]}"
