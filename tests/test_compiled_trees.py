"""Compiled trees (tl2cgen) sum a model's trees to scikit-learn's numbers, bit for bit, and fall back to it."""

import copy
import logging
import subprocess
import sys
import threading
from weakref import WeakKeyDictionary

import joblib
import numpy as np
import pytest
import tl2cgen
from sklearn.ensemble import HistGradientBoostingRegressor

from forecasts import compiled_trees
from forecasts.load import GbmSettings, tree_predict


def _rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    x[rng.random(x.shape) < 0.05] = np.nan  # missing values take their learned branch
    x[:, 0] = rng.integers(0, 5, n)  # the series code, a categorical feature
    return x, x[:, 0] ** 2 + np.nan_to_num(x[:, 1]) + rng.normal(0, 0.3, n)


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """This module's state as in a new process, its libraries kept in ``tmp_path``."""
    monkeypatch.setattr(compiled_trees, "_MODELS", WeakKeyDictionary())
    monkeypatch.setattr(compiled_trees, "_FOLDER", [tmp_path])
    monkeypatch.setattr(compiled_trees, "_FAILED", [])
    return tmp_path


def _sums_without_sklearn(monkeypatch) -> None:
    """Make scikit-learn's own tree sum fail: only a compiled library can predict."""
    def refused(*_):
        raise AssertionError("scikit-learn summed the trees")
    monkeypatch.setattr(HistGradientBoostingRegressor, "_predict_iterations", refused)


@pytest.mark.parametrize("loss", [{"loss": "squared_error"}, {"loss": "quantile", "quantile": 0.9}])
def test_compiled_sum_is_sklearns_bit_for_bit_and_kept_for_the_next_process(loss, fresh, monkeypatch):
    x, y = _rows(4000, 0)
    model = GbmSettings(max_iter=40).regressor(**loss).fit(x, y)
    rows, _ = _rows(3000, 1)
    expected = model.predict(rows)
    np.testing.assert_array_equal(tree_predict(model, rows, 1), expected)  # seen, summed by scikit-learn
    compiled_trees.settle()
    assert len(list(fresh.glob("trees-*.so"))) == 1
    with monkeypatch.context() as m:
        _sums_without_sklearn(m)
        for threads in (1, 2):
            np.testing.assert_array_equal(tree_predict(model, rows, threads), expected)
    # a new process finds the kept library at the model's first prediction, and compiles nothing
    monkeypatch.setattr(compiled_trees, "_MODELS", WeakKeyDictionary())
    monkeypatch.setattr(compiled_trees, "_compile_in_child", lambda *_: pytest.fail("compiled again"))
    _sums_without_sklearn(monkeypatch)
    np.testing.assert_array_equal(tree_predict(model, rows, 1), expected)


def test_a_model_is_compiled_in_the_background_once_it_summed_enough(fresh, monkeypatch):
    x, y = _rows(3000, 2)
    model = GbmSettings(max_iter=20).regressor(loss="squared_error").fit(x, y)
    rows, _ = _rows(1000, 3)
    monkeypatch.setattr(compiled_trees, "COMPILE_AFTER", 2 * len(rows) * 20)  # two predictions' row-trees
    before = set(threading.enumerate())  # an earlier test's compile may still run

    def compiling() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "compile-trees" and t not in before]

    tree_predict(model, rows, 1)
    assert not compiling()
    expected = tree_predict(model, rows, 1)  # the second reaches the count: compiling starts
    assert len(compiling()) == 1
    for thread in compiling():
        thread.join(timeout=120)
    assert list(fresh.glob("trees-*.so"))
    _sums_without_sklearn(monkeypatch)
    np.testing.assert_array_equal(tree_predict(model, rows, 1), expected)


def test_without_a_compiler_scikit_learn_sums_the_trees_and_compiling_stops_after_saying_why(fresh, monkeypatch, caplog):
    monkeypatch.setenv("PATH", str(fresh))  # no gcc: the child's compile fails
    x, y = _rows(2000, 4)
    models = [GbmSettings(max_iter=10, seed=seed).regressor(loss="squared_error").fit(x, y) for seed in (0, 1)]
    rows, _ = _rows(500, 5)
    for model in models:
        tree_predict(model, rows, 1)
    with caplog.at_level(logging.WARNING, logger="forecasts.compiled_trees"):
        compiled_trees.settle()
    assert [r.getMessage() for r in caplog.records if "compiling them failed" in r.getMessage()] != []
    assert len([r for r in caplog.records if "compiling them failed" in r.getMessage()]) == 1
    assert not list(fresh.glob("*.so")) + list(fresh.glob("*.joblib"))  # nothing half-written left behind
    for model in models:
        np.testing.assert_array_equal(tree_predict(model, rows, 1), model.predict(rows))


def test_the_compiling_child_leaves_the_whole_library_and_nothing_else(tmp_path):
    """The child process's work, run as the parent runs it: whatever becomes of the parent, the
    library appears under its final name, loads and sums scikit-learn's numbers; the pickled model
    and the partial library are gone."""
    x, y = _rows(2000, 6)
    model = GbmSettings(max_iter=15).regressor(loss="squared_error").fit(x, y)
    pickled, library = tmp_path / "model.joblib", tmp_path / "trees-x.so"
    joblib.dump(model, pickled)
    done = subprocess.run([sys.executable, "-m", "forecasts.compiled_trees", str(pickled), str(library)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trees-x.so"]
    rows, _ = _rows(400, 7)
    raw = tl2cgen.Predictor(library, nthread=1).predict(tl2cgen.DMatrix(rows, dtype="float64"), pred_margin=True)
    np.testing.assert_array_equal(raw.reshape(len(rows)), model.predict(rows))


def test_a_library_is_named_by_what_it_compiles(fresh):
    """The same trees (a copy, as a new process loads them) name the same library; a changed leaf,
    baseline or categorical bitset names another."""
    x, y = _rows(2000, 0)
    model = GbmSettings(max_iter=20).regressor().fit(x, y)
    name = compiled_trees._library_path(model)
    assert compiled_trees._library_path(copy.deepcopy(model)) == name
    leaf = copy.deepcopy(model)
    nodes = leaf._predictors[-1][0].nodes
    nodes["value"][np.flatnonzero(nodes["is_leaf"])[0]] += 1e-12
    baseline = copy.deepcopy(model)
    baseline._baseline_prediction = baseline._baseline_prediction + 1e-12
    split = copy.deepcopy(model)
    tree = next(t for p in split._predictors for t in p if len(t.raw_left_cat_bitsets))
    tree.raw_left_cat_bitsets[0, 0] ^= 1
    assert len({name, *(compiled_trees._library_path(m) for m in (leaf, baseline, split))}) == 4
