"""The contract of a method: what its module holds, what its model does, what it knows of the
map, and the rules its settings obey. Torch-free, so the plan can read it without torch.

A method is a module of this package (or on sys.path) with
- `Settings`: a frozen dataclass of the method's own case columns with their defaults; a
  number's rule is written beside it, `Annotated[int, AtLeast(1)]` (RULES), and a choice is a
  `Literal[...]`;
- a model class, `Model(settings, context)` (registry.Context), that is a `Sampler` and, if the
  method learns, a `Learner` (train.fit minimises its loss and calls nothing else);
plus one line in registry.METHODS that names them and says what the method knows (KNOWS).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import torch

# What a method knows of the map y = f(x), from least to most; the comparison shows it.
KNOWS = {
    "nothing": "learns from (x, y) pairs alone",
    "forward loss": "evaluates f(x̂) in its training loss",
    "features": "reads y through features shaped by the map's functions (arccos of y)",
    "formula": "solves the map's equations",
}


@runtime_checkable
class Sampler(Protocol):
    def generate(self, y: torch.Tensor, samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """y (B, 2, L) -> K = `samples` lines per y, (B, K, 2, L), drawn with `generator`."""


@runtime_checkable
class Learner(Sampler, Protocol):
    def loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The batch's total loss and its named parts, x and y (B, 2, L)."""


@runtime_checkable
class Encoder(Protocol):
    def encode(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The latent posterior's mean and log-variance of each (x, y): the report draws them."""


@dataclass(frozen=True)
class AtLeast:
    """A number setting's lower bound."""

    bound: float

    def problem(self, value) -> str | None:
        return None if value >= self.bound else f"must be at least {self.bound:g}"


RULES = {"AtLeast": AtLeast}  # the rules a Settings annotation may use, by name


def type_problem(kind: str, value) -> str | None:
    """Why `value` is not of a setting's type: int, float (any number) or a tuple of choices."""
    if isinstance(kind, tuple):
        return None if value in kind else f"must be one of {', '.join(map(str, kind))}"
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "int":
        return None if number and isinstance(value, int) else "must be an integer"
    if kind == "float":
        return None if number else "must be a number"
    return None


def check_model(name: str, model: type, learns: bool, encoder: bool) -> None:
    """Refuse, naming the method, a model class that does not keep the contract."""
    protocols = [Sampler] + [Learner] * learns + [Encoder] * encoder
    needed = dict.fromkeys(member for protocol in protocols for member, value in vars(protocol).items()
                           if callable(value) and not member.startswith("_"))
    missing = [member for member in needed if not callable(getattr(model, member, None))]
    if missing:
        raise TypeError(f"method {name!r}: its model {model.__module__}.{model.__qualname__} has no "
                        f"{', '.join(missing)} (methods/contract.py)")
