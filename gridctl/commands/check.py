"""``gridctl check``: validate config, network, asset placement and data; exit 2 listing every problem."""

from __future__ import annotations

import argparse
import sys

from adapters.errors import DataError
from gridctl.config import ConfigError, load_config
from gridctl.district import District
from gridctl.endpoints import unreachable
from network_models.loading import NetworkError


def collect_problems(config_path: str | None) -> list[str]:
    """Every problem found, one line each (empty when all is well)."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        return exc.problems
    try:
        district = District.load(config)
    except NetworkError as exc:
        return exc.problems
    try:
        return district.data_problems()
    except DataError as exc:
        return exc.problems


def add_arguments(p: argparse.ArgumentParser) -> None:
    del p  # no options beyond --config


def print_endpoint_warnings(config_path: str | None) -> None:
    """Warn (exit code unchanged) about device endpoints that accept no connection; the built-in
    simulator's endpoints are only served while the daemon runs, so they are not probed."""
    try:
        config = load_config(config_path)
    except ConfigError:
        return
    if config.simulator.enabled:
        print("device endpoints not probed: [simulator] enabled serves them when the daemon runs")
        return
    for line in unreachable(config):
        print(f"warning: {line}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    problems = collect_problems(args.config)
    print_endpoint_warnings(args.config)
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 2
    print("config, network and data are valid")
    return 0
