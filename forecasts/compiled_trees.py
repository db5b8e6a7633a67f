"""Gradient-boosted trees compiled to native code (tl2cgen), summed as scikit-learn sums them.

:func:`raw_sum` gives a fitted ``HistGradientBoostingRegressor``'s raw prediction from its compiled
library, or None while it has none. The model is imported into Treelite with its baseline as a
first one-leaf tree and a zero base score, so the library adds the baseline, then each tree in
order, in double precision: scikit-learn's order, and with no fast-math the sum equals
scikit-learn's bit for bit. A model is compiled (gcc, about a second for 150 trees) in a
background thread once scikit-learn has summed :data:`COMPILE_AFTER` row-trees of it, about as
long as compiling takes; until its library is loaded, and wherever compiling fails (no C
compiler: logged, and nothing more is compiled), scikit-learn sums the trees, to the same
numbers. Libraries are kept in :func:`keep_in`'s folder (else a temporary one) under a hash of
the model, so a later process loads them instead of compiling again.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from weakref import WeakKeyDictionary

import joblib
import numpy as np
import tl2cgen
import treelite
from sklearn.ensemble import HistGradientBoostingRegressor
from tl2cgen.exception import TL2cgenError
from treelite.model_builder import Metadata, ModelBuilder, PostProcessorFunc, TreeAnnotation

log = logging.getLogger(__name__)

COMPILE_AFTER = 40_000_000  # row-trees summed by scikit-learn before a model is compiled (about 1 s of them)
PARALLEL_UNITS = 8  # source files the trees are split into, compiled side by side
COMPILE_TIMEOUT_S = 600
GCC_OPTIONS = ["-O1"]  # -O3 (tl2cgen's default) sums 150 trees over 3,848 rows 10 % quicker and compiles 2 times slower


@dataclass
class _Model:
    """One model's library (kept or to be compiled), its predictors and the row-trees summed without it."""

    path: Path
    row_trees: int = 0
    started: bool = False
    predictors: dict[int, tl2cgen.Predictor] = field(default_factory=dict)  # by thread count; empty: not in use


_MODELS: WeakKeyDictionary[HistGradientBoostingRegressor, _Model] = WeakKeyDictionary()
_LOCK = threading.Lock()
_COMPILING = threading.Lock()  # one model compiled at a time
_FOLDER: list[Path] = []  # the libraries' folder, once chosen
_TEMPORARY: list[tempfile.TemporaryDirectory] = []  # else this process's own, removed at exit
_FAILED: list[str] = []  # why compiling failed, if it did: nothing more is compiled


def keep_in(folder: Path) -> None:
    """Keep compiled libraries in ``folder`` (made when the first is written)."""
    _FOLDER[:] = [Path(folder)]


def raw_sum(model: HistGradientBoostingRegressor, x: np.ndarray, n_threads: int) -> np.ndarray | None:
    """Baseline plus every tree's value for each row of ``x`` (float64 rows, features as fitted),
    on ``n_threads`` threads; None while the model has no compiled library (then the caller sums
    the trees, and this counts them towards compiling)."""
    with _LOCK:
        state = _MODELS.get(model)
        if state is None:
            state = _MODELS[model] = _first_sight(model)
        if not state.predictors:
            state.row_trees += len(x) * len(model._predictors)
            if state.row_trees >= COMPILE_AFTER and not state.started and not _FAILED:
                state.started = True
                threading.Thread(target=_compile, args=(model, state), name="compile-trees", daemon=True).start()
            return None
        predictor = state.predictors.get(n_threads)
        if predictor is None:
            try:
                predictor = tl2cgen.Predictor(state.path, nthread=n_threads)
            except TL2cgenError:  # more threads than OpenMP allows here (OMP_NUM_THREADS): one
                predictor = state.predictors[1]
            state.predictors[n_threads] = predictor
    return predictor.predict(tl2cgen.DMatrix(x, dtype="float64", missing=np.nan), pred_margin=True).reshape(len(x))


def settle() -> None:
    """Compile now (or load) the library of every model seen here that is not using one, as a
    long-running process will have done; those that fail are logged and left to scikit-learn."""
    with _LOCK:
        pending = [(model, state) for model, state in _MODELS.items() if not state.predictors]
        for _, state in pending:
            state.started = True
    for model, state in pending:
        _compile(model, state)


def _first_sight(model: HistGradientBoostingRegressor) -> _Model:
    """A model's state when first seen: its kept library in use if there is one; a model whose
    library cannot be named or loaded is left to scikit-learn."""
    try:
        state = _Model(_library_path(model))
        if state.path.exists():
            _use(state)
    except Exception as exc:  # noqa: BLE001 - an unpicklable model, a foreign or truncated library
        log.info("gradient-boosted trees of a model summed by scikit-learn: %s", exc)
        return _Model(Path(), started=True)
    return state


def _compile(model: HistGradientBoostingRegressor, state: _Model) -> None:
    """Compile ``model``'s library unless kept, and hand it to :func:`raw_sum`; on failure log why,
    and compile nothing more in this process."""
    if _FAILED:
        return
    try:
        state.path.parent.mkdir(parents=True, exist_ok=True)
        with _COMPILING, open(state.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another process compiling the same model: wait for its library
            if not state.path.exists():
                _compile_in_child(model, state.path)
        with _LOCK:
            _use(state)
    except Exception as exc:  # noqa: BLE001 - a missing compiler, a foreign library: scikit-learn sums the trees
        _FAILED.append(str(exc))
        log.warning("gradient-boosted trees are summed by scikit-learn: compiling them failed (%s)",
                    (str(exc).strip().splitlines() or [type(exc).__name__])[-1])


def _use(state: _Model) -> None:
    """Load ``state``'s library (raises if it does not load)."""
    state.predictors[1] = tl2cgen.Predictor(state.path, nthread=1)


def _library_path(model: HistGradientBoostingRegressor) -> Path:
    """Where ``model``'s library is kept: named by :func:`_digest`."""
    folder = _FOLDER[0] if _FOLDER else _temporary_folder()
    return folder / f"trees-{_digest(model)}.so"


def _digest(model: HistGradientBoostingRegressor) -> str:
    """A hash of what Treelite's importer reads of ``model`` (every tree's nodes and categorical
    bitsets, the baseline, loss, feature count, categorical features and their categories) and
    of what compiles it; a few milliseconds, where hashing the whole model (its training-time
    state included) takes a tenth of a second."""
    h = hashlib.blake2b(digest_size=16)
    known, f_idx = model._bin_mapper.make_known_categories_bitsets()
    preprocessor = getattr(model, "_preprocessor", None)
    categories = preprocessor.transformers_[0][1].categories_ if preprocessor is not None else []
    is_categorical = getattr(model, "is_categorical_", None)
    for part in (known, f_idx, model._baseline_prediction, *categories,
                 np.zeros(0) if is_categorical is None else is_categorical):
        h.update(np.ascontiguousarray(part).tobytes())
    for predictors in model._predictors:
        for tree in predictors:
            h.update(tree.nodes.tobytes())
            h.update(tree.raw_left_cat_bitsets.tobytes())
    h.update(repr((model.loss, model.n_iter_, model.n_features_in_, tl2cgen.__version__, treelite.__version__,
                   GCC_OPTIONS)).encode())
    return h.hexdigest()


def _compile_in_child(model: HistGradientBoostingRegressor, path: Path) -> None:
    """Compile ``model`` into ``path`` in a child process (whose native libraries print notes,
    logged here at debug level); the library appears whole or not at all, also if this process
    ends first."""
    pickled = path.with_name(f"{path.stem}.{os.getpid()}.joblib")
    try:
        joblib.dump(model, pickled)
        done = subprocess.run([sys.executable, "-m", __name__, str(pickled), str(path)], check=False,
                              capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
        log.debug("tl2cgen: %s", done.stdout + done.stderr)
        if done.returncode != 0:
            raise RuntimeError((done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1])
    finally:
        pickled.unlink(missing_ok=True)


def compile_library(model_file: Path, library: Path) -> None:
    """Compile the model pickled in ``model_file`` into ``library`` (the child process's work)."""
    model = joblib.load(model_file)
    model_file.unlink()
    partial = library.with_name(f"{library.stem}.{os.getpid()}.so")
    try:
        tl2cgen.export_lib(_treelite_model(model), toolchain="gcc", libpath=partial, nthread=os.cpu_count() or 1,
                           params={"parallel_comp": PARALLEL_UNITS}, options=GCC_OPTIONS)
        os.replace(partial, library)  # another process never loads a half-written library
    finally:
        partial.unlink(missing_ok=True)


def _treelite_model(model: HistGradientBoostingRegressor) -> treelite.Model:
    """``model`` in Treelite, its baseline a first one-leaf tree (summed first, as scikit-learn does)."""
    trees = treelite.sklearn.import_model(model)
    header = trees.get_header_accessor()
    base = header.get_field("base_scores")
    baseline = float(base[0])  # read before the field is set: ``base`` views the model's buffer
    header.set_field("base_scores", np.zeros_like(base))
    builder = ModelBuilder(
        threshold_type="float64", leaf_output_type="float64",
        metadata=Metadata(num_feature=trees.num_feature, task_type="kRegressor", average_tree_output=False,
                          num_target=1, num_class=[1], leaf_vector_shape=(1, 1)),
        tree_annotation=TreeAnnotation(num_tree=1, target_id=[0], class_id=[0]),
        postprocessor=PostProcessorFunc("identity"), base_scores=[0.0])
    builder.start_tree()
    builder.start_node(0)
    builder.leaf(baseline)
    builder.end_node()
    builder.end_tree()
    return treelite.Model.concatenate([builder.commit(), trees])


def _temporary_folder() -> Path:
    """A folder for this process's libraries, removed at exit."""
    if not _TEMPORARY:
        _TEMPORARY.append(tempfile.TemporaryDirectory(prefix="gridctl-trees-"))
    return Path(_TEMPORARY[0].name)


if __name__ == "__main__":
    compile_library(Path(sys.argv[1]), Path(sys.argv[2]))
