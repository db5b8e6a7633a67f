# gridctl: every target sets up .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint plan clean mutants

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/gridctl run --config config.toml

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# mutation testing (extra "mutants"; scope and tests in pyproject's [tool.mutmut]); survivors listed at the end
mutants: $(STAMP)
	$(BIN)/pip install --quiet -e '.[mutants]'
	$(BIN)/mutmut run --max-children 2 || true
	$(BIN)/mutmut results

lint: $(STAMP)
	$(BIN)/ruff check gridctl network_models forecasts adapters tests benchmarks

clean:
	rm -rf $(VENV) var .pytest_cache mutants
