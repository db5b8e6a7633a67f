"""Shared fixtures: the default config and the demo district, loaded once per session."""

from __future__ import annotations

import pytest

from gridctl.config import load_config
from gridctl.district import District


@pytest.fixture(scope="session")
def demo_config():
    return load_config()


@pytest.fixture(scope="session")
def demo_district(demo_config):
    return District.load(demo_config)
