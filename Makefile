# isru — the two commands a newcomer runs: `make demo` and `make test`.
# The Makefile owns the virtual environment: it creates .venv, installs the project into it,
# and is safe to run again (the install step reruns only when pyproject.toml changes).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test bench lint venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@./scripts/ensure-venv "$(PYTHON)" "$(VENV)"
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,ground]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/isru demo

test: $(STAMP)
	@./scripts/ensure-chromium
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
