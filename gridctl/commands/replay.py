"""``gridctl replay --start D --end D [--out DIR] [--baseline NAME] [--perfect-foresight]
[--modbus local|HOST:PORT [--modbus-control URL]] [--events FILE] [--workers N --chunks K --warmup-days W]``
and ``gridctl replay --sweep sweep.toml [--scheduler tcp://HOST:PORT]``: backtests."""

from __future__ import annotations

import argparse
import csv
import gc
import logging
import sys
import tomllib
import typing
from pathlib import Path

from gridctl.commands.guards import check_days, check_order, iso_date, output_dir
from gridctl.config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from gridctl.config_replay import ReplayConfig

if typing.TYPE_CHECKING:
    from gridctl.district import District
    from gridctl.replay.run import ReplayResult

log = logging.getLogger(__name__)

# the baselines a replay compares with (gridctl.replay.baselines.BASELINES), named as the config types them
BASELINES = typing.get_args(typing.get_args(ReplayConfig.model_fields["baselines"].annotation)[0])


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--start", type=iso_date, help="first local date YYYY-MM-DD")
    p.add_argument("--end", type=iso_date, help="last local date YYYY-MM-DD (inclusive)")
    p.add_argument("--out", default="var/replay", type=Path, help="output folder (default var/replay)")
    p.add_argument("--baseline", action="append", choices=sorted(BASELINES), metavar="NAME",
                   help=f"baseline to compare ({', '.join(BASELINES)}); repeatable, the first is the reference "
                        "of reduction_pct (default: [replay] baselines)")
    p.add_argument("--perfect-foresight", action="store_true",
                   help="also compare with the perfect-foresight optima (copper plate and network-feasible)")
    p.add_argument("--modbus", metavar="local|HOST:PORT",
                   help="run gridctl's devices over Modbus TCP: a simulator started here on 127.0.0.1 (local) or a "
                        "running `gridctl simulate --clock-start START --control-port N` (default: in-process)")
    p.add_argument("--modbus-control", metavar="URL",
                   help="with --modbus HOST:PORT: that simulator's control endpoint, e.g. http://127.0.0.1:5021")
    p.add_argument("--events", type=Path, metavar="FILE",
                   help="recorded grid-operator events: a JSON list of OpenADR 3 event objects (docs/openadr.md)")
    p.add_argument("--sweep", type=Path, help="sweep.toml: run a grid of scenarios on Dask, one summary row each")
    p.add_argument("--scheduler", help="Dask scheduler address tcp://HOST:PORT (default: a local cluster)")
    p.add_argument("--workers", type=int, default=None,
                   help="local Dask cluster workers (default: one per core); without --sweep: replay in chunks on them")
    p.add_argument("--chunks", type=int, default=None,
                   help="split the window into this many chunks of days replayed in parallel on Dask (default: --workers)")
    p.add_argument("--warmup-days", type=int, default=2,
                   help="with --chunks: days each chunk after the first is replayed before its first day and trimmed (default 2)")


def run(args: argparse.Namespace) -> int:
    output_dir(args.out)
    if args.sweep is None:
        if args.start is None or args.end is None:
            raise ConfigError(["--start and --end are required (or give --sweep sweep.toml)"])
        check_order(args.start, args.end)
        return _replay(args)
    return _sweep(args)


def _replay(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    baselines = list(args.baseline or config.replay.baselines)
    if args.perfect_foresight:
        baselines += [b for b in ("perfect-foresight", "perfect-foresight-network") if b not in baselines]
    config.replay.baselines = baselines
    from tqdm.contrib.logging import logging_redirect_tqdm

    from gridctl.cli import EXIT_INTERRUPTED
    from gridctl.district import District
    from gridctl.replay.apart import prepare
    from gridctl.replay.files import write_outputs
    from gridctl.replay.ledger import book_replay
    from gridctl.replay.plant import ModbusTarget
    from gridctl.replay.run import helpers_due, replay_days, run_replay

    modbus = None if args.modbus is None else ModbusTarget.parse(args.modbus, args.modbus_control)
    grid_events = None if args.events is None else _events(args.events)
    chunks = args.chunks if args.chunks is not None else args.workers
    if chunks in (None, 1) and helpers_due(config, len(replay_days(args.start, args.end))):
        prepare()  # the helpers' fork server (gridctl.replay.apart) imports while the district loads
    district = District.load(config)
    check_days(district, start=args.start, end=args.end)
    gc.collect()
    gc.freeze()  # the district lives as long as this command: no garbage collection walks its objects again
    with logging_redirect_tqdm():
        if chunks is not None and chunks != 1:  # fewer than 1: refused by the chunked replay
            result = _chunked(args, district, chunks)
        else:
            result = run_replay(district, args.start, args.end, progress=True, modbus=modbus, grid_events=grid_events,
                                baselines_apart=True)
    log.info("writing the summary, intervals, report and carbon ledger to %s", args.out)
    paths = [*write_outputs(result, args.out), book_replay(district, result, args.out)]
    s = result.summary
    print(f"replay {s['start']}..{s['end']} ({s['days']} days, {s['decisions']} decisions, {s['runtime_s']:.1f} s)")
    for name, k in s["runs"].items():
        print(f"  {name:18s} emissions {k['emissions_kg']:12.1f} kg  adjusted {k['emissions_adjusted_kg']:12.1f} kg  "
              f"peak {k['peak_import_kw']:9.1f} kW  AC violations {k['ac_violations']}  "
              f"unserved {k['unserved_energy_kwh']:.1f} kWh")
    for name, why in s["baselines_failed"].items():
        print(f"  {name:18s} left out: {why}")
    raw = s["unadjusted"]
    for key, label in (("reduction_pct", f"reduction vs {s['reference_baseline']}"),
                       ("perfect_foresight_capture_pct", "share of the perfect-foresight reduction captured"),
                       ("network_bound_capture_pct", "share of the network-feasible perfect-foresight reduction")):
        if s[key] is not None:
            unadjusted = "n/a" if raw[key] is None else f"{raw[key]:.1f}%"
            print(f"{label}: {s[key]:.1f}% (unadjusted {unadjusted})")
    print("wrote " + ", ".join(str(p) for p in paths))
    if s["partial"]:
        print(f"interrupted: kept the {s['days']} whole days replayed ({s['start']}..{s['end']}), marked partial",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _events(path: Path):
    """Recorded OpenADR events; a bad file or event is a one-line :class:`ConfigError` (exit 2)."""
    from gridctl.grid_events import EventFormatError, load_events

    try:
        return load_events(path)
    except EventFormatError as exc:
        raise ConfigError([f"--events {exc}"]) from None


def _chunked(args: argparse.Namespace, district: District, chunks: int) -> ReplayResult:
    """The window replayed in ``chunks`` chunks on Dask (:mod:`gridctl.replay.chunks`)."""
    from gridctl.extras import require

    if args.modbus is not None:
        raise ConfigError(["--modbus replays one simulator in order; drop --chunks/--workers or --modbus"])
    if args.events is not None:
        raise ConfigError(["--events is replayed in order; drop --chunks/--workers or --events"])
    require("dask.distributed", "replay --chunks")
    from gridctl.replay.chunks import run_chunked

    return run_chunked(district, args.start, args.end, chunks, args.warmup_days, args.workers, args.scheduler,
                       progress=True)


def _sweep(args: argparse.Namespace) -> int:
    from gridctl.extras import require

    require("dask.distributed", "replay --sweep")  # before any work
    path = Path(args.config) if args.config else DEFAULT_CONFIG_PATH
    load_config(path)  # validate the base config before starting workers
    from gridctl.replay.sweep import read_sweep, run_sweep

    base = tomllib.loads(path.read_text(encoding="utf-8"))
    scenarios = read_sweep(args.sweep, args.start, args.end)
    rows = run_sweep(base, path.resolve().parent, scenarios, args.scheduler, args.workers, progress=True)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / "sweep.csv"
    fields = list(dict.fromkeys(k for row in rows for k in row))
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:
        print(f"  {row['scenario']}: emissions {row['emissions_kg']:.1f} kg, reduction {row['reduction_pct']} %")
    print(f"wrote {out} ({len(rows)} scenarios)")
    return 0
