"""gridctl: microgrid optimisation and control.

Exit codes: 0 success, 1 runtime failure, 2 bad input (config, data, arguments), 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys

# sub-command name -> module in gridctl.commands exposing add_arguments(parser) and run(args) -> int;
# only the module of the command given is imported (they import their heavy libraries in run())
COMMANDS = {
    "check": "Validate config, network, devices and data.",
    "plan": "Make the day-ahead plan for a local date.",
    "forecast": "Evaluate the forecasters walk-forward against naive baselines.",
    "simulate": "Serve every configured device over Modbus TCP (SunSpec) until interrupted.",
    "replay": "Backtest historical days with gridctl's decision cycle against baselines.",
    "ledger": "Carbon ledger: verify its hash chain, write period statements.",
    "run": "Run the daemon: scheduler, device control, store, API and dashboard.",
}

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

EPILOG = """\
exit codes: 0 success, 1 runtime failure, 2 bad input (config, data, arguments), 130 interrupted
help on a command: gridctl COMMAND --help"""

# (module, exception class) of the errors a user causes with config, network or data: exit 2
_BAD_INPUT = [("gridctl.config", "ConfigError"), ("adapters.errors", "DataError"),
              ("network_models.loading", "NetworkError")]
# the project's packages log at INFO by default; every other library only its warnings
_OWN_LOGGERS = ("gridctl", "forecasts", "adapters", "network_models", "__main__")


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (and exit 2) instead of the usage text."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see {self.prog} --help)\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``command`` only that command's options (and module) are loaded ("": none)."""
    parser = Parser(prog="gridctl", description=__doc__.splitlines()[0], epilog=EPILOG,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="detailed (debug) logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if command is not None and name != command:
            continue
        module = importlib.import_module(f"gridctl.commands.{name}")
        p.add_argument("--config", default=None, help="config TOML (default: the embedded config.toml)")
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def _command(argv: list[str]) -> str | None:
    """The command named in ``argv`` (its first word that is not an option), None when there is none."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return word if word in COMMANDS else None


def configure_logging(verbose: bool) -> None:
    """Short lines on stderr: gridctl's INFO and every library's warnings; with ``-v`` everything at DEBUG."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    if not verbose:
        for name in _OWN_LOGGERS:
            logging.getLogger(name).setLevel(logging.INFO)
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(logging.DEBUG if verbose else logging.ERROR)


def _is(exc: BaseException, module: str, name: str) -> bool:
    """``exc`` is a ``module.name`` (checked without importing ``module``: if it is not loaded, it is not)."""
    cls = getattr(sys.modules.get(module), name, None)
    return cls is not None and isinstance(exc, cls)


def _bad_input_problems(exc: BaseException) -> list[str] | None:
    """The problem lines of a config/data/network error, else None."""
    return list(exc.problems) if any(_is(exc, module, name) for module, name in _BAD_INPUT) else None


_SIGINTS: list[int] = []  # Ctrl-Cs received (commands that own SIGINT, e.g. run, install their own handler)


def _on_sigint(signum: int, frame) -> None:
    """Record the interrupt, then raise it as Python's default handler does."""
    _SIGINTS.append(signum)
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gridctl`` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_command(argv) or "").parse_args(argv)
    configure_logging(args.verbose)
    signal.signal(signal.SIGINT, _on_sigint)
    try:
        code = int(args._module.run(args))
        if _SIGINTS and code != EXIT_INTERRUPTED:  # a library swallowed the interrupt: it still ends the command
            raise KeyboardInterrupt
        return code
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # handled: a repeated Ctrl-C during shutdown must not kill the exit code
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # every error ends as one line; -v adds the traceback
        if args.verbose:
            logging.getLogger("gridctl").exception("traceback")
        problems = _bad_input_problems(exc)
        if problems is not None:
            for line in problems:
                print(f"error: {line}", file=sys.stderr)
            return EXIT_BAD_INPUT
        text = " ".join(str(exc).split()) or "no message"
        if not (args.verbose or isinstance(exc, OSError) or _is(exc, "gridctl.extras", "MissingExtra")):
            text += f" ({type(exc).__name__}; -v shows the traceback)"
        print(f"error: {text}", file=sys.stderr)
        return EXIT_FAILURE


def entry() -> None:
    """Console script: exit with ``main``'s code; after an interrupt the process ends at once with
    130 (output flushed), so no library's shutdown work (threads, exit handlers) can turn it into a
    death by SIGINT."""
    code = main()
    if code == EXIT_INTERRUPTED:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
