"""The methods, one entry each; what a method module holds is methods/contract.py.

Torch-free: each entry declares its method's settings, so the plan reads them without importing
the module and parsing the Snakefile never pays for importing torch; the model is checked
against the contract when its module is loaded.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re
from dataclasses import dataclass, field, make_dataclass
from typing import Any

from sincvae.learn.methods.contract import KNOWS, Setting, check_model

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
    # its own case columns: a required setting first, then those with a default
    settings: dict[str, Setting] = field(default_factory=dict)
    learns: bool = True  # trained by train.fit, minimising model.loss(x, y)
    encoder: bool = False  # model.encode(x, y): a latent space the report draws
    # what its model is built from besides the settings: "train" (the train split), "tolerance"
    # (data.tolerance, for the exact enumerator)
    needs: tuple[str, ...] = ()
    reference: bool = False  # a bound for the others (like the exact row), never the best method

    def __post_init__(self):
        if self.knows not in KNOWS:
            raise ValueError(f"method module {self.module!r}: knows = {self.knows!r} must be one of {', '.join(KNOWS)}")
        required = [setting.required for setting in self.settings.values()]
        if required != sorted(required, reverse=True):
            raise ValueError(f"method module {self.module!r}: its required settings must come before those with a default")


HIDDEN = Setting(int, 256, at_least=1)  # width of the hidden layers (the y trunk and each head)
TRUNK = Setting(int, 3, at_least=1)  # hidden layers of the y trunk; each head has 2

METHODS: dict[str, Method] = {
    "cvae": Method("cvae", "CVAE", "forward loss", dict(
        loss=Setting(("l1_mean", "mse", "l1_sum")),
        beta=Setting(float, at_least=0),
        wx=Setting(float, at_least=0),
        wy=Setting(float, at_least=0),
        latent_dim=Setting(int, 100, at_least=1),
        # fixed: the README's intent (encoder sees x and y, He init); original_code: the original study's code
        variant=Setting(("fixed", "original_code"), "fixed"),
    ), encoder=True),
    "line_cvae": Method("line_cvae", "LineCVAE", "forward loss", dict(
        beta=Setting(float, at_least=0),
        wx=Setting(float, at_least=0),
        wy=Setting(float, at_least=0),
        latent_dim=Setting(int, 4, at_least=1),
        free_bits=Setting(float, 0.0, at_least=0),  # nats per latent dimension below which the KL is not penalised
        hidden=HIDDEN,  # of the encoder's and decoder's two hidden layers
    ), encoder=True),
    "flow": Method("flow", "LineFlow", "nothing", dict(
        transforms=Setting(int, 5, at_least=1),  # autoregressive rational-quadratic spline layers
        hidden=HIDDEN,  # of the two hidden layers of each transform
    )),
    "flow_matching": Method("flow_matching", "FlowMatching", "nothing", dict(
        hidden=HIDDEN,  # of the velocity field's hidden layers
        layers=Setting(int, 4, at_least=1),  # its hidden layers
        steps=Setting(int, 16, at_least=1),  # midpoint steps of the ODE sampler (two field evaluations each)
        # t drawn ∝ t^(1/(1+α)), α = time_power: more training near the data (FMPE)
        time_power=Setting(float, 1.0, at_least=0),
    )),
    "mdn": Method("mdn", "MixtureDensity", "features", dict(
        components=Setting(int, 16, at_least=1),  # Gaussians per y: at least the most solutions a y has
        hidden=HIDDEN,  # between the y-embedding and the mixture
        layers=TRUNK,
        # sampling width of a component, relative to its learned σ: 1 samples the model as trained
        temperature=Setting(float, 1.0, at_least=0),
        # y's features: arccos (the 100 values and their arccos, a cosine's phase folded into [0, π],
        # linear along a line between folds) or conv (the flow's embedding, layers.y_embedding)
        embedding=Setting(("arccos", "conv"), "arccos"),
    )),
    "autoregressive": Method("autoregressive", "AutoregressiveBins", "features", dict(
        bins=Setting(int, 256, at_least=2),  # per coordinate, over the box [0.1, 1]
        hidden=HIDDEN,
        layers=TRUNK,
        temperature=Setting(float, 1.0, at_least=0),  # of the bins' softmax when sampling: 1 samples the model as trained
    )),
    "offset_bins": Method("offset_bins", "OffsetBins", "features", dict(
        # per coordinate, over the box [0.1, 1]; an offset is a sawtooth of y that a head learns the
        # harder the narrower its bin (data_1, 16 epochs: its error fell from 0.32 to 0.09 with 4 bins, not with 32)
        bins=Setting(int, 8, at_least=2),
        hidden=HIDDEN,
        layers=TRUNK,
        temperature=Setting(float, 1.0, at_least=0),  # of the bins' softmax when sampling
        offset_weight=Setting(float, 100.0, at_least=0),  # the offsets' squared error (in bin widths) beside the bins' NLL
    )),
    "branches": Method("branches", "PhaseBranches", "formula", dict(
        hidden=HIDDEN,
        layers=TRUNK,
        temperature=Setting(float, 1.0, at_least=0),  # of the start point's labels' softmax when sampling (0: the most probable)
        # of the end point's labels, given the start's: y's interior fixes a line's end from its start
        # (up to aliasing), so sharpening them cuts the heads' leftover mass on ends that do not solve y
        # without changing which start, hence which solution, is drawn (docs/methods.md "Phase branches")
        end_temperature=Setting(float, 0.25, at_least=0),
        # checked: the formula completes the drawn start to a line that solves y, moving the start by
        # a class where only a neighbour can be (its module's docstring); learned: the heads alone choose
        ends=Setting(("checked", "learned"), "checked"),
        # solutions: the formula lists every line in the box that solves y, and the heads' probability
        # of its four labels, at `temperature`, chooses among them; labels: label by label from the
        # heads (`end_temperature` and `ends` apply), as where y has no such line
        draw=Setting(("solutions", "labels"), "solutions"),
    )),
    "bayes": Method("bayes", "LearnedPriorBayes", "formula", dict(
        # Gaussians of the prior over θ. data_2, fresh lines, lr 1e-2 cosine, 200 epochs: the weights of
        # 100 fresh y's solutions were 0.028 in total variation from the posterior's with 32, 0.029
        # with 64, 0.024 with 128 (16 Gaussians, 30 epochs: 0.069)
        components=Setting(int, 32, at_least=1),
    ), needs=("tolerance",)),
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
    """A method's own settings as its registry line declares them."""
    return method(name).settings


def settings_class(name: str) -> type:
    """The frozen dataclass a method's model is built with: one field per setting."""
    return _dataclass_of(method(name).model, tuple(settings_of(name).items()))


@functools.cache  # one class per declaration, so its instances compare and hash alike
def _dataclass_of(model: str, own: tuple[tuple[str, Setting], ...]) -> type:
    return make_dataclass(f"{model}Settings", [
        (key, s.annotation) if s.required else (key, s.annotation, field(default=s.default)) for key, s in own],
        frozen=True)


def summary(name: str) -> str:
    """What a method is in one sentence: the first of its module's docstring (imports torch)."""
    text = " ".join((load(name).__doc__ or name).replace("`", "").split())  # plain text: no markdown
    return re.split(r"(?<=\.)\s+(?=[A-Z])", text, maxsplit=1)[0]


@functools.cache
def load(name: str):
    """The module of a method (imports torch), checked against the contract: a model class
    that is a Sampler (and a Learner if the method learns, an Encoder if it has one)."""
    spec = method(name)
    if importlib.util.find_spec(_module_path(spec.module)) is None:
        raise ModuleNotFoundError(f"no method module {spec.module!r} in {__package__}.methods or on sys.path")
    module = importlib.import_module(_module_path(spec.module))
    if not hasattr(module, spec.model):
        raise TypeError(f"method {name!r}: {module.__name__} has no model class {spec.model!r}")
    check_model(name, getattr(module, spec.model), spec.learns, spec.encoder)
    return module


def settings(case: dict):
    """The method's Settings instance of a case row (its own columns; the others are not its)."""
    return settings_class(case["method"])(**{k: case[k] for k in settings_of(case["method"]) if k in case})


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
