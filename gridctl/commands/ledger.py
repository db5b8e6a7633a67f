"""``gridctl ledger verify|report``: check the ledger's hash chain; write a period statement."""

from __future__ import annotations

import argparse
from pathlib import Path

from gridctl.config import ConfigError, load_config


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["verify", "report"], help="verify the chain, or write a statement")
    p.add_argument("--store", default=None,
                   help="SQLAlchemy URL or a replay output folder holding ledger.sqlite (default: [store] url)")
    p.add_argument("--period", default=None, help="report: local month YYYY-MM or year YYYY")
    p.add_argument("--tenant", default=None, help="report: one tenant's statement ([ledger.groups.tenant])")
    p.add_argument("--out", default="var/ledger", type=Path, help="report: output folder (default var/ledger)")


def store_url(arg: str | None, default: str) -> str:
    """``--store``: a URL, or a folder written by ``gridctl replay`` (its ledger.sqlite)."""
    if arg is None:
        return default
    if "://" in arg:
        return arg
    path = Path(arg) / "ledger.sqlite"
    if not path.is_file():
        raise ConfigError([f"--store {arg}: no ledger.sqlite there; give a replay output folder or a database URL"])
    return f"sqlite:///{path.resolve()}"


def run(args: argparse.Namespace) -> int:
    from gridctl.ledger.chain import verify
    from gridctl.store import Store
    from gridctl.store.ledger import chained_rows

    config = load_config(args.config)
    if args.action == "report" and args.period is None:
        raise ConfigError(["ledger report needs --period YYYY-MM (or YYYY)"])
    store = Store(store_url(args.store, config.store.url), config.base_dir)
    try:
        n, problems = verify(chained_rows(store))
        head = _head(store)
        if args.action == "verify":
            for line in problems:
                print(f"ledger: {line}")
            print(f"ledger: {n} rows checked, {len(problems)} problems, head {head}")
            return 1 if problems else 0
        return _report(args, config, store, {"rows": n, "problems": len(problems), "head": head})
    finally:
        store.close()


def _head(store) -> str:
    from sqlalchemy import select

    from gridctl.store.models import LedgerEntry

    with store.session() as s:
        return s.scalar(select(LedgerEntry.hash).order_by(LedgerEntry.seq.desc()).limit(1)) or "(empty)"


def _report(args: argparse.Namespace, config, store, audit: dict) -> int:
    from gridctl.ledger.render import write_statement
    from gridctl.ledger.statement import Period, statement
    from gridctl.store.ledger import entries

    try:
        period = Period.parse(args.period)
    except ValueError as exc:
        raise ConfigError([str(exc)]) from None
    tz = config.site.timezone
    start, end = period.bounds_utc(tz)
    rows = entries(store, start.to_pydatetime(), end.to_pydatetime())
    if rows.empty:
        raise ConfigError([f"--period {args.period}: the ledger has no rows in it; book it first (daemon or replay)"])
    tenants = config.ledger.groups.get("tenant", {})
    if args.tenant is not None and args.tenant not in tenants:
        raise ConfigError([f"--tenant {args.tenant!r}: not in [ledger.groups.tenant] (known: {sorted(tenants)})"])
    st = statement(rows, config.ledger, period, tz, args.tenant)
    paths = write_statement(st, args.out, config.site.name, audit)
    market = "n/a (no residual mix)" if st["market_kg"] is None else f"{st['market_kg']:,.0f} kg"
    print(f"statement {st['period']} ({args.tenant or 'district'}): import {st['import_kwh']:,.0f} kWh, "
          f"location-based {st['location_kg']:,.0f} kg, market-based {market}, "
          f"estimated {st['estimated_share_pct']:.2f} %")
    if audit["problems"]:
        print(f"warning: the ledger chain has {audit['problems']} problems; run gridctl ledger verify")
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0
