"""The methods, one line each; what a method module holds is methods/contract.py.

Torch-free: the workflow's plan reads each method's settings and their rules from its module's
source (ast) without importing it, so parsing the Snakefile never pays for importing torch; the
model is checked against the contract when the module is loaded.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import re
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from sincvae.learn.methods.contract import KNOWS, RULES, check_model, type_problem

# Case columns of every learned method, read by the training loop (train.TrainSettings).
TRAINING = ("lr", "batch_size", "epochs", "precision", "online", "schedule", "targets")


def training_problem(settings: dict) -> str | None:
    """Why a learned case's training columns cannot go together, or None: checked by the plan
    (a config error before any job) and by train.TrainSettings (a library caller)."""
    if settings.get("targets") == "solutions" and settings.get("online"):
        return ("targets: solutions trains on the train split's exact solutions, and online lines have none: "
                "set online: false")
    return None


@dataclass(frozen=True)
class Method:
    module: str  # a module of sincvae.learn.methods by name, else a module path on sys.path
    model: str  # the model class in it: Model(settings, context)
    knows: str  # what it knows of the map: a key of contract.KNOWS
    learns: bool = True  # trained by train.fit, minimising model.loss(x, y)
    encoder: bool = False  # model.encode(x, y): a latent space the report draws
    # what its model is built from besides the settings: "train" (the train split), "tolerance"
    # (data.tolerance, for the exact enumerator)
    needs: tuple[str, ...] = ()
    reference: bool = False  # a bound for the others (like the exact row), never the best method

    def __post_init__(self):
        if self.knows not in KNOWS:
            raise ValueError(f"method module {self.module!r}: knows = {self.knows!r} must be one of {', '.join(KNOWS)}")


METHODS: dict[str, Method] = {
    "cvae": Method("cvae", "CVAE", "forward loss", encoder=True),
    "line_cvae": Method("line_cvae", "LineCVAE", "forward loss", encoder=True),
    "flow": Method("flow", "LineFlow", "nothing"),
    "flow_matching": Method("flow_matching", "FlowMatching", "nothing"),
    "mdn": Method("mdn", "MixtureDensity", "features"),
    "autoregressive": Method("autoregressive", "AutoregressiveBins", "features"),
    "offset_bins": Method("offset_bins", "OffsetBins", "features"),
    "branches": Method("branches", "PhaseBranches", "formula"),
    "bayes": Method("bayes", "LearnedPriorBayes", "formula", needs=("tolerance",)),
    "nearest": Method("nearest", "NearestLines", "nothing", learns=False, needs=("train",)),
    "prior": Method("prior", "PriorLines", "nothing", learns=False),
    "posterior": Method("posterior", "PosteriorDraws", "formula", learns=False, needs=("tolerance",), reference=True),
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
    kind: str | tuple  # "int", "float", or the choices of a Literal
    rules: tuple = ()  # contract.RULES instances from an Annotated[...] annotation
    default: Any = None
    required: bool = False  # no default: every case of the method sets it

    def problem(self, value) -> str | None:
        """Why `value` is not a valid value of this setting, or None."""
        found = type_problem(self.kind, value)
        return found or next((p for rule in self.rules if (p := rule.problem(value))), None)


def _annotation(node: ast.expr, path: str) -> tuple[str | tuple, tuple]:
    """(kind, rules) of a Settings annotation: int, float, Literal[...], Annotated[kind, Rule(...), ...]."""
    if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "Annotated":
        kind, *rules = node.slice.elts
        built = []
        for rule in rules:
            if not (isinstance(rule, ast.Call) and ast.unparse(rule.func) in RULES):
                raise TypeError(f"{path}: setting rule {ast.unparse(rule)} is not one of {', '.join(RULES)}")
            built.append(RULES[ast.unparse(rule.func)](*(ast.literal_eval(a) for a in rule.args)))
        return _annotation(kind, path)[0], tuple(built)
    if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "Literal":
        return ast.literal_eval(ast.unparse(node.slice).join("()") if isinstance(node.slice, ast.Tuple)
                                else f"({ast.unparse(node.slice)},)"), ()
    return ast.unparse(node), ()


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
    """A module of sincvae.learn.methods by its name, else the module path as given."""
    inside = f"{__package__}.methods.{module}"
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
            kind, rules = _annotation(node.annotation, path)
            if node.value is None:
                found[node.target.id] = Setting(node.target.id, kind, rules, required=True)
            else:
                found[node.target.id] = Setting(node.target.id, kind, rules, ast.literal_eval(node.value))
    return found


@functools.cache
def load(name: str):
    """The module of a method (imports torch), checked against the contract: a Settings
    dataclass whose fields are the settings read from its source, and a model class that is a
    Sampler (and a Learner if the method learns, an Encoder if it has one)."""
    spec = method(name)
    module = importlib.import_module(_module_path(spec.module))
    declared = getattr(module, "Settings", None)
    if not is_dataclass(declared) or [f.name for f in fields(declared)] != list(settings_of(name)):
        raise TypeError(f"method {name!r}: {module.__name__}.Settings must be a dataclass of the settings "
                        f"its source declares (methods/contract.py)")
    if not hasattr(module, spec.model):
        raise TypeError(f"method {name!r}: {module.__name__} has no model class {spec.model!r}")
    check_model(name, getattr(module, spec.model), spec.learns, spec.encoder)
    return module


def settings(case: dict):
    """The method's Settings instance of a case row (its own columns; the others are not its)."""
    spec = load(case["method"]).Settings
    return spec(**{f.name: case[f.name] for f in fields(spec) if f.name in case})


def build(name: str, own_settings, context: Context):
    """A fresh model of method `name` with its Settings instance."""
    return getattr(load(name), method(name).model)(own_settings, context)


def load_sampler(case: dict, model_path, context: Context, device, seed: int | None = None):
    """A case's trained (or training-free) model on `device`, in eval mode; model_path: a
    learned method's state dict, or with `seed` a run job's models.pt ({seed: state dict})."""
    import torch

    sampler = build(case["method"], settings(case), context)
    if method(case["method"]).learns:
        state = torch.load(model_path, weights_only=True, map_location="cpu")
        sampler.load_state_dict(state if seed is None else state[seed])
    return sampler.to(device).eval()
