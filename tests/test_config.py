"""Every invalid config fails validation (the schema, then the plan for a case's method
settings), with the offending key's place in the message."""

import copy

import pytest
import yaml
from hypothesis import given, settings, strategies as st
from snakemake.utils import validate

from conftest import ROOT, merged
from sincvae.plan.planning import plan

SCHEMA = str(ROOT / "config" / "schema.yaml")
VALID = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def leaves(node, path=()):
    """Every scalar in the config with its path."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from leaves(value, (*path, index))
    else:
        yield path


def objects(node, path=()):
    """Every mapping in the config with its path."""
    if isinstance(node, dict):
        yield path
        for key, value in node.items():
            yield from objects(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from objects(value, (*path, index))


def instance(path) -> str:
    return "instance" + "".join(f"[{p!r}]" for p in path)


def at(config, path):
    for key in path:
        config = config[key]
    return config


# (path, a value outside its range or enum): one per constrained key
OUT_OF_RANGE = [
    (("seeds",), 0), (("threads",), 0), (("device",), "tpu"), (("data", "rows", "train"), 0),
    (("data", "tolerance"), 0), (("train", "lr"), 0), (("train", "epochs"), 0),
    (("train", "batch_size"), 0), (("cases", 10, "variant"), "improved"), (("cases", 0, "beta"), -0.1),
    (("cases", 1, "wx"), -1), (("cases", 2, "wy"), -1), (("cases", 3, "loss"), "huber"),
    (("cases", 4, "latent_dim"), 0), (("cases", 0, "case"), "bad id/with slash"),
    (("datasets", "data_1", "terms", 0, "fn"), "tan"), (("evaluate", "samples"), 0),
    (("evaluate", "match_tolerance"), -0.02), (("report", "rows", 0), -1), (("tuning", "trials"), 0),
    (("tuning", "workers"), 0), (("evaluate", "refine", "oversample"), 0), (("train", "method"), "gan"),
]


def test_the_shipped_configs_are_valid():
    validate(copy.deepcopy(VALID), SCHEMA)
    for extra in ("quick.yaml", "paper.yaml", "challenge.yaml"):
        validate(merged(VALID, yaml.safe_load((ROOT / "config" / extra).read_text())), SCHEMA)


def rejection(path, value) -> str:
    """Set the key at `path` to `value`; the message validation fails with."""
    config = copy.deepcopy(VALID)
    at(config, path[:-1])[path[-1]] = value
    with pytest.raises(Exception) as err:
        validate(config, SCHEMA)
        plan(config)
    return str(err.value)


def names(message: str, path) -> bool:
    """The schema names the key's path; the plan names a case's method setting by case id and key."""
    if f"On {instance(path)}" in message or f"config: {'.'.join(map(str, path))} " in message:
        return True
    return (len(path) == 3 and path[0] == "cases" and f"case {VALID['cases'][path[1]]['case']!r}" in message
            and str(path[2]) in message)


@pytest.mark.parametrize("path, value", OUT_OF_RANGE)
def test_an_out_of_range_value_names_its_key(path, value):
    assert names(rejection(path, value), path)


@settings(max_examples=60, deadline=None)
@given(path=st.sampled_from(list(leaves(VALID))), wrong=st.sampled_from([None, [1], {"x": 1}]))
def test_a_value_of_the_wrong_type_names_its_key(path, wrong):
    assert names(rejection(path, wrong), path)


@settings(max_examples=40, deadline=None)
@given(path=st.sampled_from(list(objects(VALID))), key=st.sampled_from(["bogus", "Beta", "epoch"]))
def test_an_unknown_key_is_rejected_with_its_place(path, key):
    if key in at(VALID, path):
        return
    message = rejection((*path, key), 1)
    assert (f"'{key}'" in message and (f"On {instance(path)}" in message or f"On {instance((*path, key))}" in message)
            or names(message, (*path, key)))
