"""When models are (re)trained: on history known at fixed, periodic cutoffs, cached by cutoff.

The cutoff of an issue time is the latest instant ``EPOCH + k * retrain_days`` at or before it;
the model used at that issue time is trained on ``history_before(history, cutoff)`` only. Issue
times within one period share a model, and going back in time (a replay of an earlier day)
never uses a model that saw later data.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import pandas as pd

from forecasts.base import history_before

log = logging.getLogger(__name__)

EPOCH = pd.Timestamp("2000-01-03T00:00Z")  # a Monday


class TrainedModels:
    """Least-recently-used cache of models trained at periodic cutoffs (``None``: too little history)."""

    def __init__(self, train: Callable[[pd.DataFrame], Any], retrain_days: int, min_history_days: int,
                 resolution_min: int, what: str, keep: int = 6):
        self.train = train
        self.period = pd.Timedelta(days=retrain_days)
        self.min_history = pd.Timedelta(days=min_history_days)
        self.resolution_min = resolution_min
        self.what = what
        self.keep = keep
        self.reason: str | None = None
        self._cache: OrderedDict[pd.Timestamp, tuple[Any, str | None]] = OrderedDict()

    def cutoff(self, issue_time: pd.Timestamp) -> pd.Timestamp:
        """Training cutoff used for forecasts issued at ``issue_time``."""
        return EPOCH + ((pd.Timestamp(issue_time) - EPOCH) // self.period) * self.period

    def get(self, history: pd.DataFrame, issue_time: pd.Timestamp) -> Any:
        """Model for ``issue_time`` (trained if needed); ``None`` with ``reason`` set when history is short."""
        cut = self.cutoff(issue_time)
        if cut not in self._cache:
            known = history_before(history, cut, self.resolution_min)
            span = known.index.max() - known.index.min() if len(known) else pd.Timedelta(0)
            if span < self.min_history:
                self._cache[cut] = (None, f"only {span} of history before {cut}, need {self.min_history.days} days")
            else:
                self._cache[cut] = (self.train(known), None)
            while len(self._cache) > self.keep:
                self._cache.popitem(last=False)
        self._cache.move_to_end(cut)
        model, self.reason = self._cache[cut]
        if model is None:
            log.warning("%s forecast falls back to seasonal naive: %s", self.what, self.reason)
        return model
