"""Models are retrained on schedule: history that grows after a cutoff reuses the model trained at
it; the next cutoff, or a corrected row before it, trains again."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasts.schedule import TrainedModels

INDEX = pd.date_range("2016-01-04", "2016-03-01", freq="15min", tz="UTC", inclusive="left")
STEP = pd.Timedelta(minutes=15)


def test_history_extended_after_the_cutoff_reuses_the_model_until_the_next_cutoff():
    trained = []  # the last interval each training saw; a model is its training's number

    def model(history: pd.DataFrame, issue: pd.Timestamp) -> int:
        """The model a forecaster fitted on ``history`` uses at ``issue`` (a fit makes a new TrainedModels)."""
        models = TrainedModels(lambda known: trained.append(known.index.max()) or len(trained), 14, 8, 15,
                               f"test-{id(trained)}", ())
        return models.get(history, issue)

    full = pd.DataFrame({"load/a": np.arange(len(INDEX), dtype=float)}, index=INDEX)
    issue = pd.Timestamp("2016-02-10 12:00", tz="UTC")
    cutoff = TrainedModels(len, 14, 8, 15, "cutoff", ()).cutoff(issue)
    assert model(full.loc[:issue - STEP], issue) == 1 and trained == [cutoff - STEP]  # nothing after the cutoff
    later = issue + pd.Timedelta(hours=6)
    assert model(full.loc[:later - STEP], later) == 1  # six more hours measured: the same model
    corrected = full.loc[:issue - STEP].copy()
    corrected.iloc[10, 0] = -1.0  # a row before the cutoff corrected: trained again
    assert model(corrected, issue) == 2
    nxt = cutoff + pd.Timedelta(days=14)  # the next cutoff: trained on the longer history
    assert model(full.loc[:nxt], nxt) == 3 and trained[-1] == nxt - STEP
