import copy
from pathlib import Path

import pytest
import yaml

from sincvae.forward import ForwardMap

ROOT = Path(__file__).resolve().parents[1]
SEED_SCORING = ROOT.parent / "shared" / "seed" / "data" / "scoring_dataset.pt"


def merged(base: dict, overlay: dict) -> dict:
    """Snakemake's --configfile overlay: mappings merged key by key, anything else replaced."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


@pytest.fixture(scope="session")
def config():
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


@pytest.fixture(scope="session")
def data_1(config):
    return ForwardMap.from_config(config["datasets"]["data_1"])


@pytest.fixture(scope="session")
def data_2(config):
    return ForwardMap.from_config(config["datasets"]["data_2"])
