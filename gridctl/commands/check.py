"""``gridctl check``: validate config, network, asset placement and data; exit 2 listing every problem."""

from __future__ import annotations

import argparse
import sys

from adapters.errors import DataError
from gridctl.config import ConfigError, load_config
from gridctl.district import District
from network_models.loading import NetworkError


def collect_problems(config_path: str | None, notes: list[str] | None = None) -> list[str]:
    """Every problem found, one line each (empty when all is well). Loading the network includes
    a base AC power flow; decisions taken on import (e.g. storage out of service) go to ``notes``."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        return exc.problems
    try:
        district = District.load(config)
    except NetworkError as exc:
        return exc.problems
    if notes is not None:
        notes += district.notes
    try:
        return district.data_problems()
    except DataError as exc:
        return exc.problems


def add_arguments(p: argparse.ArgumentParser) -> None:
    del p  # no options beyond --config


def run(args: argparse.Namespace) -> int:
    notes: list[str] = []
    problems = collect_problems(args.config, notes)
    for line in notes:
        print(f"note: {line}")
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 2
    print("config, network and data are valid")
    return 0
