"""Shared fixtures: the default config and the demo district, loaded once per session.

In CI (``CI=true``) a test skipped because a required part is missing (PostgreSQL, chromium,
Mosquitto: a skip reason that names one of ``REQUIRED_PARTS``) fails with that reason, so a
broken service cannot turn CI green; locally such tests still skip.
"""

from __future__ import annotations

import os

import pytest

from gridctl.config import load_config
from gridctl.district import District

REQUIRED_PARTS = ("PostgreSQL", "chromium", "Mosquitto")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and in_ci() and call.excinfo is not None
            and call.excinfo.errisinstance(pytest.skip.Exception)):
        return
    reason = str(call.excinfo.value)
    part = next((p for p in REQUIRED_PARTS if p.lower() in reason.lower()), None)
    if part is not None:
        report.outcome = "failed"
        report.longrepr = f"CI=true: required part {part} missing, a skip is a failure here: {reason}"


@pytest.fixture(scope="session")
def demo_config():
    return load_config()


@pytest.fixture(scope="session")
def demo_district(demo_config):
    return District.load(demo_config)
