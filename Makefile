# make run   - create .venv if needed, install what the lab needs, serve it on http://localhost:8501
# make test  - the whole test suite, real-browser tests included (they need /usr/bin/chromium)
# make test-fast - the tests that need no browser and no training run (about a minute)
# make loadtest - 30 students (protocol clients) walking the lesson for 10 minutes, figures in bench-results/loadtest.json
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test test-fast loadtest install install-dev clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.run-installed: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt $(VENV)/.run-installed
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.run-installed
install-dev: $(VENV)/.dev-installed

# MALLOC_ARENA_MAX=2: glibc's per-thread malloc arenas otherwise keep freed memory of every
# session's thread (docs/architecture.md, the warm-up).
run: install
	MALLOC_ARENA_MAX=2 $(BIN)/python -m advdl.ui.serve --server.port $(PORT)

# Two workers, each taking whole test files (--dist loadfile: a file's server, browser and
# module fixtures are made once): while one waits on a browser or a subprocess, the other computes.
test: install-dev
	$(BIN)/python -m pytest -n 2 --dist loadfile

test-fast: install-dev
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not slow and not browser"

# A class of 30 protocol-level students walking the lesson for 10 minutes against a fresh server
# (scripts/loadtest.py; bench-results/loadtest.json).
loadtest: install-dev
	$(BIN)/python scripts/loadtest.py --sessions 30 --duration 600

clean-venv:
	rm -rf $(VENV)
