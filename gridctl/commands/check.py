"""``gridctl check``: validate config, network, asset placement and data; exit 2 listing every problem."""

from __future__ import annotations

import argparse
import sys

from gridctl.config import ConfigError, load_config


def collect_problems(config_path: str | None) -> list[str]:
    """Every problem found, one line each (empty when all is well)."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        return exc.problems
    from adapters.errors import DataError
    from gridctl.district import District
    from network_models.loading import NetworkError

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


def run(args: argparse.Namespace) -> int:
    problems = collect_problems(args.config)
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 2
    print("config, network and data are valid")
    return 0
