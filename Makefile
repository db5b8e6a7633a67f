# gridctl: every target sets up .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pytest-xdist workers for `make test`: a number, auto (one per CPU) or 0 (serial, in this process)
TEST_WORKERS ?= auto

.PHONY: run test bench lint plan clean floors mutants docs docs-figures

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,sweep,postgres]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/gridctl run --config config.toml

# each test file runs whole on one worker (--dist loadfile): its module fixtures are built once;
# one OpenMP thread per worker, so the workers do not contend for the cores
test: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile tests

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# every dependency at its pyproject.toml floor, in .venv-floors, with a quick subset of the tests
floors:
	PYTHON=$(PYTHON) .ci/floors

# mutation testing (extra "mutants"; scope and tests in pyproject's [tool.mutmut]); survivors listed at the end
mutants: $(STAMP)
	$(BIN)/pip install --quiet -e '.[mutants]'
	$(BIN)/mutmut run --max-children 2 || true
	$(BIN)/mutmut results

# docs/configuration.md from the pydantic config models and config.toml's comments
docs: $(STAMP)
	$(BIN)/python docs/config_reference.py

# rerun the commands whose figures the docs quote (gridctl plan) and rewrite them between their markers
docs-figures: $(STAMP)
	$(BIN)/python docs/figures.py

lint: $(STAMP)
	$(BIN)/ruff check gridctl network_models forecasts adapters tests benchmarks docs

clean:
	rm -rf $(VENV) .venv-floors var .pytest_cache mutants
