"""Trained forecaster models on disk, so a restarted daemon and every sweep worker load them
instead of training again.

A model is stored with joblib under ``var/models/`` (next to the config) as
``<what>-<key>.joblib``; the key is a hash of everything the trained model depends on: the
forecaster's identity (settings, time zone and a content hash of its data:
:class:`forecasts.schedule.TrainedModels`), the content of the history it is trained on, and the
versions of Python and the libraries that build and pickle it. A file that cannot be read is
trained again and replaced; a model that cannot be written is used from memory.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import pickle
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from forecasts import compiled_trees
from forecasts.schedule import TrainedModels, frame_key

log = logging.getLogger(__name__)

FOLDER = "var/models"  # relative to the config's folder
LIBRARIES = ("scikit-learn", "numpy", "pandas", "scipy", "pvlib", "joblib", "holidays")


def library_versions() -> tuple[str, ...]:
    """Python's and :data:`LIBRARIES`' versions (a model pickled by one may not load in another)."""
    return (sys.version.split()[0], *(f"{name}=={importlib.metadata.version(name)}" for name in LIBRARIES))


def model_path(folder: Path, models: TrainedModels, known: pd.DataFrame) -> Path:
    """File of the model ``models`` trains on ``known``."""
    key = repr((models.identity, frame_key(known), library_versions()))
    return folder / f"{models.what.lower()}-{hashlib.sha256(key.encode()).hexdigest()[:24]}.joblib"


def persisted(train: Callable[[pd.DataFrame], Any], models: TrainedModels, folder: Path) -> Callable[[pd.DataFrame], Any]:
    """``train`` that loads the model from ``folder`` when it is there, else trains and saves it."""

    def load_or_train(known: pd.DataFrame) -> Any:
        path = model_path(folder, models, known)
        if path.exists():
            try:
                model = joblib.load(path)
            except (OSError, EOFError, ValueError, pickle.UnpicklingError, AttributeError, ImportError) as exc:
                # a truncated or foreign file: train again
                log.warning("%s model %s unreadable (%s); training again", models.what, path.name, exc)
            else:
                log.info("%s model loaded from %s", models.what, path)
                return model
        model = train(known)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            joblib.dump(model, tmp)
            os.replace(tmp, path)  # readers never see a half-written file
        except (OSError, pickle.PicklingError, TypeError, AttributeError) as exc:
            # a read-only folder or a model that does not pickle
            log.warning("%s model not saved to %s: %s", models.what, folder, exc)
        return model

    return load_or_train


def persist(forecasters: list, folder: Path) -> None:
    """Make every forecaster with trained models (``.models``) load and save them in ``folder``,
    and keep the models' compiled trees in its ``trees/`` (:mod:`forecasts.compiled_trees`)."""
    compiled_trees.keep_in(folder / "trees")
    for f in forecasters:
        models = getattr(f, "models", None)
        if isinstance(models, TrainedModels):
            models.train = persisted(models.train, models, folder)
