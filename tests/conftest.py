from pathlib import Path

import pytest
import yaml

from sincvae.forward import ForwardMap

ROOT = Path(__file__).resolve().parents[1]
SEED_SCORING = ROOT.parent / "shared" / "seed" / "data" / "scoring_dataset.pt"


@pytest.fixture(scope="session")
def config():
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


@pytest.fixture(scope="session")
def data_1(config):
    return ForwardMap.from_config(config["datasets"]["data_1"])


@pytest.fixture(scope="session")
def data_2(config):
    return ForwardMap.from_config(config["datasets"]["data_2"])
