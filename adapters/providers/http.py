"""What every provider client shares: a retry policy (stamina: exponential backoff with jitter,
``Retry-After`` of a 429/503 answer honoured: waited for, or the fetch given up when it asks for
more than ``wait_max_s``), JSON GETs through httpx, and :class:`FeedError`.

A call is retried on connection errors, time-outs, 429 and 5xx answers; any other answer (401,
404, ...) fails at once. After the last attempt the error is raised as :class:`FeedError` with a
one-line message.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import httpx
import niquests
import pandas as pd
import requests
import stamina

from adapters.carbon_formats import json_points
from adapters.errors import DataError

T = TypeVar("T")
RETRY_STATUS = {429, 500, 502, 503, 504}
# connection failures and time-outs of the HTTP libraries the provider clients use
TRANSIENT = (httpx.TransportError, requests.ConnectionError, requests.Timeout, niquests.ConnectionError,
             niquests.Timeout, ConnectionError, TimeoutError)


class FeedError(Exception):
    """A provider could not be fetched or answered nonsense; the message is one line."""


@dataclass(frozen=True)
class RetryPolicy:
    """Time-outs and retries of one provider call."""

    timeout_s: float = 20.0  # per HTTP request
    attempts: int = 3  # tries per fetch, the first included
    wait_initial_s: float = 1.0  # first backoff; doubles per retry
    wait_max_s: float = 60.0  # longest backoff (and longest Retry-After honoured)
    wait_jitter_s: float = 1.0  # random extra wait, up to this many seconds


DEFAULT_POLICY = RetryPolicy()


def _status_and_headers(exc: BaseException) -> tuple[int | None, dict]:
    """HTTP status and headers of an httpx / requests error, also when wrapped by a client."""
    while exc is not None:
        response = getattr(exc, "response", None)
        if response is not None and getattr(response, "status_code", None) is not None:
            return response.status_code, dict(response.headers)
        exc = exc.__cause__
    return None, {}


def retry_after_s(headers: dict) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delta seconds or HTTP date); None if absent."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return max(seconds, 0.0)


def backoff_hook(policy: RetryPolicy) -> Callable[[Exception], bool | float]:
    """stamina hook: retry transport errors and 429/5xx; wait as long as Retry-After says, or give
    this fetch up when that is longer than ``wait_max_s`` (the next scheduled fetch tries again)."""
    def hook(exc: Exception) -> bool | float:
        status, headers = _status_and_headers(exc)
        if status is not None:
            if status not in RETRY_STATUS:
                return False
            wait = retry_after_s(headers)
            return True if wait is None else (wait if wait <= policy.wait_max_s else False)
        cause = exc
        while cause is not None:
            if isinstance(cause, TRANSIENT):
                return True
            cause = cause.__cause__
        return False
    return hook


def call(func: Callable[[], T], policy: RetryPolicy, what: str) -> T:
    """``func()`` with retries; the last failure becomes a one-line :class:`FeedError` naming ``what``."""
    try:
        for attempt in stamina.retry_context(on=backoff_hook(policy), attempts=policy.attempts, timeout=None,
                                             wait_initial=policy.wait_initial_s, wait_max=policy.wait_max_s,
                                             wait_jitter=policy.wait_jitter_s):
            with attempt:
                return func()
    except FeedError:
        raise
    except Exception as exc:  # any client failure ends as one line
        status, headers = _status_and_headers(exc)
        wait = retry_after_s(headers)
        detail = (f"HTTP {status}" + ("" if wait is None else f" (Retry-After {wait:g} s)") if status else
                  f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        raise FeedError(f"{what}: {detail}") from exc
    raise AssertionError("unreachable")  # pragma: no cover


def get_json(client: httpx.Client, url: str, policy: RetryPolicy, what: str, **kwargs) -> dict | list:
    """GET ``url`` and decode JSON, with retries; a non-JSON answer is a :class:`FeedError`."""
    def once() -> httpx.Response:
        response = client.get(url, timeout=policy.timeout_s, **kwargs)
        response.raise_for_status()
        return response
    response = call(once, policy, what)
    try:
        return response.json()
    except ValueError:
        raise FeedError(f"{what}: answer is not JSON ({response.text[:80]!r})") from None


def get_bytes(client: httpx.Client, url: str, policy: RetryPolicy, what: str, **kwargs) -> bytes:
    """GET ``url`` and return the body, with retries."""
    def once() -> bytes:
        response = client.get(url, timeout=policy.timeout_s, **kwargs)
        response.raise_for_status()
        return response.content
    return call(once, policy, what)


def known_points(rows: list, time_key: str, value_key: str, what: str) -> tuple[pd.DatetimeIndex, pd.Series]:
    """Stamps and values of the points of an answer whose value is known (not null); a bad point
    (no stamp, negative or non-numeric value) is a :class:`FeedError` naming its position."""
    if not isinstance(rows, list):
        raise FeedError(f"{what}: no list of points in the answer")
    with bad_data_as_feed_error():
        return json_points(rows, time_key, value_key, what, skip_null=True)


@contextmanager
def bad_data_as_feed_error() -> Iterator[None]:
    """A :class:`DataError` raised inside becomes a one-line :class:`FeedError` (first problems)."""
    try:
        yield
    except DataError as exc:
        raise FeedError("; ".join(exc.problems[:3]) + (" ..." if len(exc.problems) > 3 else "")) from None
