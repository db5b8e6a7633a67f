"""``gridctl check``: validate config, network, asset placement and data; exit 2 listing every problem."""

from __future__ import annotations

import argparse
import logging
import sys

from gridctl.config import ConfigError, load_config
from gridctl.ledger.config import member_problems


def collect_problems(config_path: str | None, notes: list[str] | None = None) -> list[str]:
    """Every problem found, one line each (empty when all is well). Loading the network includes
    a base AC power flow; decisions taken on import (e.g. storage out of service) go to ``notes``."""
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
    if notes is not None:
        notes += district.notes
    assets = {a.id for _, group in config.assets for a in (group if isinstance(group, list) else [])}
    problems = member_problems(config.ledger, set(district.groups.series_id) | assets)
    try:
        return problems + district.data_problems()
    except DataError as exc:
        return problems + exc.problems


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--feeds", action="store_true",
                   help="validate the config and fetch every [feeds] source once (instead of the network and "
                        "data checks); exit 1 with one line per failing feed")


def probe_feeds(config_path: str | None) -> list[str]:
    """One line per configured feed that cannot be fetched now (network access); the fetch and
    retry logs are quiet, so the lines are the whole report."""
    from gridctl.feeds import FeedManager

    for name in ("gridctl.feeds", "stamina"):
        logging.getLogger(name).setLevel(logging.ERROR)
    config = load_config(config_path)
    manager = FeedManager.from_config(config, on_rows=lambda *rows: None, on_event=lambda *event: None)
    failing = manager.probe()
    for line in failing:
        print(f"error: {line}", file=sys.stderr)
    if not failing:
        print(f"{len(manager.states)} feed(s) answered" if manager.states else "no feeds configured")
    return failing


def print_endpoint_warnings(config_path: str | None) -> None:
    """Warn (exit code unchanged) about device endpoints that accept no connection; the built-in
    simulator's endpoints are only served while the daemon runs, so they are not probed."""
    try:
        config = load_config(config_path)
    except ConfigError:
        return
    from gridctl.endpoints import unreachable

    if config.simulator.enabled:
        print("device endpoints not probed: [simulator] enabled serves them when the daemon runs")
        return
    for line in unreachable(config):
        print(f"warning: {line}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    if args.feeds:
        return 1 if probe_feeds(args.config) else 0
    notes: list[str] = []
    problems = collect_problems(args.config, notes)
    for line in notes:
        print(f"note: {line}")
    print_endpoint_warnings(args.config)
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 2
    print("config, network and data are valid")
    return 0
