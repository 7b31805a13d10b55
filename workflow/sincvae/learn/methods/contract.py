"""The contract of a method: what its module holds, what its model does, what it knows of the
map, and the rules its settings obey. Torch-free, so the plan can read it without torch.

A method is a module of this package (or on sys.path) with a model class, `Model(settings,
context)` (registry.Context), that is a `Sampler` and, if the method learns, a `Learner`
(train.fit minimises its loss and calls nothing else); plus one entry in registry.METHODS that
names them, says what the method knows (KNOWS) and declares its settings (`Setting`): its own
case columns with their types, defaults and bounds. The plan reads them there, without torch;
the model gets them as a frozen dataclass (registry.settings_class).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

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


REQUIRED = "required"  # a setting's default when every case of its method must set it


@dataclass(frozen=True)
class Setting:
    """One setting of a method, declared in its registry line: its type (int, float, or the
    tuple of its choices), its default (none: every case of the method sets it) and the least
    value a number may take."""

    kind: type | tuple
    default: Any = REQUIRED
    at_least: float | None = None

    def __post_init__(self):
        if not (self.kind in (int, float) or isinstance(self.kind, tuple)):
            raise TypeError(f"setting kind {self.kind!r} is not int, float or a tuple of choices")
        if not self.required and self.problem(self.default):
            raise ValueError(f"setting default {self.default!r} {self.problem(self.default)}")

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def annotation(self):
        """The field type of the method's settings dataclass."""
        return Literal[self.kind] if isinstance(self.kind, tuple) else self.kind

    def problem(self, value) -> str | None:
        """Why `value` is not a valid value of this setting, or None."""
        if isinstance(self.kind, tuple):
            return None if value in self.kind else f"must be one of {', '.join(map(str, self.kind))}"
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or (self.kind is int and not isinstance(value, int)):
            return "must be an integer" if self.kind is int else "must be a number"
        if self.at_least is not None and value < self.at_least:
            return f"must be at least {self.at_least:g}"
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
