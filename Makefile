# isru — the two commands a newcomer runs: `make demo` and `make test`.
# The Makefile owns the virtual environment: it creates .venv, installs the project into it,
# and is safe to run again (the install step reruns only when pyproject.toml changes).

PYTHON ?= python3
# Test processes: the suite runs on two cores (pytest-xdist); `make test TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= 2
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test check bench lint venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@./scripts/ensure-venv "$(PYTHON)" "$(VENV)"
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,ground]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/isru demo

test: check
	@./scripts/ensure-chromium
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist worksteal

# The house rules a reviewer would otherwise have to remember: lint, format, types and the layer contract.
check: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	$(PY) -m bench

lint: check

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .import_linter_cache build *.egg-info
