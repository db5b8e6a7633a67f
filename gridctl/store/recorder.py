"""Writing to the store without waiting for it: every record is appended to the local
:class:`~gridctl.store.journal.Journal` (on disk, in order) and one writer thread hands the records
to the store, oldest first, removing each once the store has committed it.

While the store is away (refused, timed out, locked, stalled), records stay in the journal and
the writer retries with backoff; the outage is logged once when it starts and once when it ends,
and stored as ``store_unavailable`` / ``store_recovered`` events. A record is delivered at least
once (a crash between the store's commit and the journal's removal repeats it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from gridctl.store.journal import Journal
from gridctl.store.repository import Store

log = logging.getLogger(__name__)
WRITES = {"add_measurements": False, "add_forecast": False, "add_plan": True, "add_failed_plan": True,
          "add_setpoint": True, "finish_setpoint": True, "add_event": True, "put_emissions": True,
          "close_pending_setpoints": True, "add_override": True, "release_override": True}  # store method -> critical (kept when the journal is full)
RETRY_S = (0.2, 5.0)  # first and longest pause between attempts while the store is away, real seconds
STALL_S = 0.5  # a store call in flight longer than this (real seconds) reports the store as degraded


def _transient(exc: Exception) -> bool:
    """The store is away (retry later), as opposed to a record it will never take."""
    return (isinstance(exc, OperationalError | InterfaceError | PoolTimeout | DisconnectionError | OSError)
            or (isinstance(exc, DBAPIError) and exc.connection_invalidated))


def _short(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


class Recorder:
    """The store's write methods (``add_event``, ``add_setpoint``, ...) as journal appends that
    return at once; :meth:`status` tells whether the store keeps up."""

    def __init__(self, store: Store, journal: Journal, now: Callable[[], datetime]):
        self.store = store
        self.journal = journal
        self.now = now
        self._wake = threading.Condition()
        self._stopping = False
        self._busy_since: float | None = None  # monotonic start of the store call in flight
        self._outage = threading.Lock()
        self._down_since: datetime | None = None
        self._down_error = ""
        self._replayed = 0
        self.delivered = 0  # records the store has taken (readers use it to know when answers change)
        if len(journal):
            log.info("journal %s holds %d records from the last run; replaying them", journal.path, len(journal))
        self.record("close_pending_setpoints")
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    def __getattr__(self, name: str):
        if name not in WRITES:
            raise AttributeError(name)
        return lambda *args: self.record(name, *args)

    def record(self, method: str, *args) -> None:
        """Append ``store.<method>(*args)`` to the journal; the writer thread delivers it."""
        self._check_stall()
        if self.journal.append(method, list(args), WRITES[method]) is None and self.journal.dropped == 1:
            log.warning("journal full (%d records): telemetry and forecasts are dropped until the store "
                        "catches up", self.journal.max_records)
        with self._wake:
            self._wake.notify()

    # -- state -----------------------------------------------------------------------------------
    def status(self) -> dict:
        """``ok`` false while the store refuses records or a call has hung for over ``STALL_S``."""
        self._check_stall()
        busy = self._busy_since
        stalled = busy is not None and time.monotonic() - busy > STALL_S
        down = self._down_since
        return {"ok": down is None and not stalled, "state": "ok" if down is None and not stalled else "degraded",
                "since": None if down is None else down.isoformat(), "error": self._down_error or None,
                "backlog": len(self.journal), "dropped": self.journal.dropped}

    def _check_stall(self) -> None:
        busy = self._busy_since
        if busy is not None and time.monotonic() - busy > STALL_S:
            self._down(f"no answer for over {STALL_S:g} s")

    def _down(self, error: str) -> None:
        with self._outage:
            if self._down_since is not None:
                return
            self._down_since, self._down_error, self._replayed = self.now(), error, 0
        log.warning("store unavailable (%s): records are kept in the journal %s until it answers",
                    error, self.journal.path)
        self.journal.append("add_event", [self._down_since, "alarm", "store_unavailable",
                                          f"store unavailable ({error}); records kept in the local journal"])

    def _delivered(self) -> None:
        self.delivered += 1
        if self._down_since is None:
            return
        self._replayed += 1
        if len(self.journal) > 0:
            return
        with self._outage:
            since, n, self._down_since, self._down_error = self._down_since, self._replayed, None, ""
        seconds = (self.now() - since).total_seconds()
        msg = f"store answering again after {seconds:.1f} s; {n} records replayed from the journal in order"
        log.warning("store recovered: %s", msg)
        self.journal.append("add_event", [self.now(), "info", "store_recovered", msg])

    # -- the writer thread ---------------------------------------------------------------------
    def _run(self) -> None:
        pause = RETRY_S[0]
        while True:
            with self._wake:
                while not len(self.journal) and not self._stopping:
                    self._wake.wait(1.0)
                if self._stopping and (not len(self.journal) or self._down_since is not None):
                    return
            for seq, method, args in self.journal.head(200):
                error = self._deliver(method, args)
                if error is None:
                    self.journal.remove(seq)
                    pause = RETRY_S[0]
                    self._delivered()
                    continue
                if _transient(error):
                    self._down(_short(error))
                    with self._wake:
                        self._wake.wait(pause)
                    pause = min(pause * 2, RETRY_S[1])
                    break
                log.error("store rejected a %s record (%s); it is dropped: %.200s", method, _short(error), args)
                self.journal.remove(seq)

    def _deliver(self, method: str, args: list) -> Exception | None:
        self._busy_since = time.monotonic()
        try:
            getattr(self.store, method)(*args)
            return None
        except Exception as exc:  # noqa: BLE001 - classified by the caller
            return exc
        finally:
            self._busy_since = None

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait (blocking) until the journal is empty; True when it is."""
        deadline = time.monotonic() + timeout_s
        while len(self.journal) and time.monotonic() < deadline:
            with self._wake:
                self._wake.notify()
            time.sleep(0.01)
        return not len(self.journal)

    def close(self, timeout_s: float = 5.0) -> None:
        """Deliver what the store takes within ``timeout_s``; the rest stays in the journal."""
        if self._down_since is None:
            self.flush(timeout_s)
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._thread.join(timeout_s)
        if len(self.journal):
            log.warning("%d records stay in the journal %s for the next start", len(self.journal), self.journal.path)
        if not self._thread.is_alive():
            self.journal.close()
