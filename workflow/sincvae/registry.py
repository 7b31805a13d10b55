"""The methods, one line each: a method is a module with a `Settings` dataclass (its own case
columns and their defaults) and a model class with `generate(y, samples, generator)`, plus
`loss(x, y)` if it learns (the training loop calls only that).

Torch-free: the workflow's plan reads each method's settings from its module's source (ast)
without importing it, so parsing the Snakefile never pays for importing torch.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import re
from dataclasses import dataclass, fields
from typing import Any

# Case columns of every learned method, read by the training loop (train.TrainSettings).
TRAINING = ("lr", "batch_size", "epochs", "precision", "online", "schedule")


@dataclass(frozen=True)
class Method:
    module: str  # a module of this package by name, else a module path on sys.path
    model: str  # the model class in it: Model(settings, context)
    learns: bool = True  # trained by train.fit, minimising model.loss(x, y)
    encoder: bool = False  # model.encode(x, y): a latent space the report draws
    needs: tuple[str, ...] = ()  # what its model is built from besides the settings: "train" (the train split)
    reference: bool = False  # a bound for the others (like the exact row), never the best method


METHODS: dict[str, Method] = {
    "cvae": Method("cvae", "CVAE", encoder=True),
    "line_cvae": Method("line_cvae", "LineCVAE", encoder=True),
    "flow": Method("flow", "LineFlow"),
    "flow_matching": Method("flow_matching", "FlowMatching"),
    "mdn": Method("mdn", "MixtureDensity"),
    "autoregressive": Method("autoregressive", "AutoregressiveBins"),
    "nearest": Method("nearest", "NearestLines", learns=False, needs=("train",)),
    "prior": Method("prior", "PriorLines", learns=False),
    "posterior": Method("posterior", "PosteriorDraws", learns=False, reference=True),
}


@dataclass(frozen=True)
class Context:
    """What a model is built from besides its settings."""

    fmap: Any  # forward.ForwardMap of the dataset
    tolerance: float | None = None  # data.tolerance: max |f(x) − y| of an exact solution
    train: tuple | None = None  # (x, y) of the train split, for a method that needs it


@dataclass(frozen=True)
class Setting:
    """One setting of a method as its Settings dataclass declares it."""

    name: str
    annotation: str  # e.g. "int", "float", "Literal['fixed', 'seed_code']"
    default: Any = None
    required: bool = False  # no default: every case of the method sets it

    def problem(self, value) -> str | None:
        """Why `value` is not a valid value of this setting, or None."""
        if self.annotation.startswith("Literal["):
            choices = ast.literal_eval(self.annotation[len("Literal"):].replace("[", "(", 1)[:-1] + ",)")
            return None if value in choices else f"must be one of {', '.join(map(str, choices))}"
        if self.annotation == "int":
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
            return None if ok else "must be a positive integer"
        if self.annotation == "float":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
            return None if ok else "must be a number ≥ 0"
        return None


def method(name: str) -> Method:
    if name not in METHODS:
        raise KeyError(f"unknown method {name!r}; methods are {', '.join(METHODS)}")
    return METHODS[name]


def learned() -> list[str]:
    return [name for name, spec in METHODS.items() if spec.learns]


def with_encoder() -> list[str]:
    return [name for name, spec in METHODS.items() if spec.encoder]


def references() -> list[str]:
    """The rows that bound the others: the exact solutions and the reference methods."""
    return ["exact", *(name for name, spec in METHODS.items() if spec.reference)]


def _module_path(module: str) -> str:
    """A module of this package by its name, else the module path as given."""
    inside = f"{__package__}.{module}"
    return inside if importlib.util.find_spec(inside) is not None else module


def settings_of(name: str) -> dict[str, Setting]:
    """A method's settings, read from its module's `class Settings` without importing it."""
    return _settings_in(method(name).module)


def summary(name: str) -> str:
    """What a method is in one sentence: the first of its module's docstring (read, not imported)."""
    _, tree = _source(method(name).module)
    text = " ".join((ast.get_docstring(tree) or name).replace("`", "").split())  # plain text: no markdown
    return re.split(r"(?<=\.)\s+(?=[A-Z])", text, maxsplit=1)[0]


@functools.cache  # read for every case row and table row: each module's source is parsed once
def _source(module: str) -> tuple[str, ast.Module]:
    """A method module's path and syntax tree, without importing it."""
    spec = importlib.util.find_spec(_module_path(module))
    if spec is None:
        raise ModuleNotFoundError(f"no method module {module!r} in {__package__} or on sys.path")
    with open(spec.origin) as f:
        return spec.origin, ast.parse(f.read(), spec.origin)


@functools.cache
def _settings_in(module: str) -> dict[str, Setting]:
    path, tree = _source(module)
    body = next((node.body for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Settings"), None)
    if body is None:
        raise TypeError(f"method module {path} has no `class Settings`")
    found = {}
    for node in body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            annotation = ast.unparse(node.annotation)
            if node.value is None:
                found[node.target.id] = Setting(node.target.id, annotation, required=True)
            else:
                found[node.target.id] = Setting(node.target.id, annotation, ast.literal_eval(node.value))
    return found


def load(name: str):
    """The module of a method (imports torch)."""
    return importlib.import_module(_module_path(method(name).module))


def settings(case: dict):
    """The method's Settings instance of a case row (its own columns; the others are not its)."""
    spec = load(case["method"]).Settings
    return spec(**{f.name: case[f.name] for f in fields(spec) if f.name in case})


def build(name: str, own_settings, context: Context):
    """A fresh model of method `name` with its Settings instance."""
    return getattr(load(name), method(name).model)(own_settings, context)


def load_sampler(case: dict, model_path, context: Context, device):
    """A case's trained (or training-free) model on `device`, in eval mode; model_path: a
    learned method's state dict."""
    import torch

    sampler = build(case["method"], settings(case), context)
    if method(case["method"]).learns:
        sampler.load_state_dict(torch.load(model_path, weights_only=True, map_location="cpu"))
    return sampler.to(device).eval()
