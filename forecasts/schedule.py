"""When models are (re)trained: on history known at fixed, periodic cutoffs, cached by cutoff.

The cutoff of an issue time is the latest instant ``EPOCH + k * retrain_days`` at or before it;
the model used at that issue time is trained on ``history_before(history, cutoff)`` only. Issue
times within one period share a model, and going back in time (a replay of an earlier day)
never uses a model that saw later data. Trained models are kept per process (least recently
used first out), keyed by the cutoff and the identity of data and settings.
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


# models of every forecaster in the process, by (identity of data and settings, cutoff): equal
# forecasters (a district loaded twice, a sweep of scenarios) share their models
_MODELS: OrderedDict[tuple, tuple[Any, str | None]] = OrderedDict()
KEEP = 24


def frame_key(frame: pd.DataFrame | None) -> tuple:
    """Content identity of a table (columns, index and values), for the model cache."""
    if frame is None:
        return ()
    return (tuple(frame.columns), int(pd.util.hash_pandas_object(frame, index=True).sum()))


class TrainedModels:
    """Models trained at periodic cutoffs, cached by cutoff (``None``: too little history).

    ``identity`` must capture everything the trained model depends on besides the cutoff and the
    history known at it (settings, time zone, other data's :func:`frame_key`); an instance serves
    one history.
    """

    def __init__(self, train: Callable[[pd.DataFrame], Any], retrain_days: int, min_history_days: int,
                 resolution_min: int, what: str, identity: tuple):
        self.train = train
        self.period = pd.Timedelta(days=retrain_days)
        self.min_history = pd.Timedelta(days=min_history_days)
        self.resolution_min = resolution_min
        self.what = what
        self.identity = (what, retrain_days, min_history_days, resolution_min, *identity)
        self.reason: str | None = None
        self._keys: dict[pd.Timestamp, tuple] = {}  # cutoff -> model key (one history per instance)

    def cutoff(self, issue_time: pd.Timestamp) -> pd.Timestamp:
        """Training cutoff used for forecasts issued at ``issue_time``."""
        return EPOCH + ((pd.Timestamp(issue_time) - EPOCH) // self.period) * self.period

    def get(self, history: pd.DataFrame, issue_time: pd.Timestamp) -> Any:
        """Model for ``issue_time`` (trained if needed); ``None`` with ``reason`` set when history is short.

        Keyed by the content of the history known at the cutoff, so history extended after the
        cutoff (the live daemon's newest measurements) reuses the model until the next cutoff."""
        cut = self.cutoff(issue_time)
        known = None
        if cut not in self._keys:
            known = history_before(history, cut, self.resolution_min)
            self._keys[cut] = (self.identity, cut, frame_key(known))
        key = self._keys[cut]
        if key not in _MODELS:
            known = history_before(history, cut, self.resolution_min) if known is None else known
            span = known.index.max() - known.index.min() if len(known) else pd.Timedelta(0)
            if span < self.min_history:
                _MODELS[key] = (None, f"only {span} of history before {cut}, need {self.min_history.days} days")
                log.warning("%s forecast falls back to seasonal naive: %s", self.what, _MODELS[key][1])  # once per cutoff
            else:
                _MODELS[key] = (self.train(known), None)
            while len(_MODELS) > KEEP:
                _MODELS.popitem(last=False)
        _MODELS.move_to_end(key)
        model, self.reason = _MODELS[key]
        return model
