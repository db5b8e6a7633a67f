"""The ``gridctl`` command line: one sub-command per module in ``gridctl.commands``.

Exit codes: 0 success, 1 runtime failure, 2 bad input (config, data, arguments).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# sub-command name -> module in gridctl.commands exposing add_arguments(parser) and run(args) -> int
COMMANDS = {
    "check": "Validate config, network, devices and data.",
    "plan": "Make the day-ahead plan for a local date.",
    "forecast": "Evaluate the forecasters walk-forward against naive baselines.",
    "simulate": "Serve every configured device over Modbus TCP (SunSpec) until interrupted.",
    "replay": "Backtest historical days with gridctl's decision cycle against baselines.",
    "ledger": "Carbon ledger: verify its hash chain, write period statements.",
    "run": "Run the daemon: scheduler, device control, store, API and dashboard.",
}

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gridctl", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"gridctl.commands.{name}")
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--config", default=None, help="config TOML (default: the embedded config.toml)")
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gridctl`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from adapters.errors import DataError
    from gridctl.config import ConfigError
    from network_models.loading import NetworkError

    try:
        return int(args._module.run(args))
    except (ConfigError, NetworkError, DataError) as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
