# partnerplan: `make demo` and `make test` each set themselves up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PACKAGES := partnerplan connectors mappings plans report writeback worker sandbox
SCALE  ?= 100
BENCH_ARGS ?=

.PHONY: demo test test-python lint unit bench bench-smoke install lock migration clean starter

$(STAMP): requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)  ## create the virtualenv with the locked dependencies

demo: $(STAMP)  ## start the sandbox CRMs, run the whole flow on SQLite, show the plans
	$(BIN)/python -m worker.demo

test: lint unit bench-smoke  ## lint, type-check, every test, then the benchmark at scale 1

unit: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)  ## ruff and mypy --strict, as CI runs them
	$(BIN)/ruff check $(PACKAGES) tests bench
	$(BIN)/ruff format --check $(PACKAGES) tests bench
	$(BIN)/mypy

bench: $(STAMP)  ## the benchmark workload (SCALE=2000 for the standard one; BENCH_ARGS="--db sqlite")
	$(BIN)/python -m bench.run --scale $(SCALE) $(BENCH_ARGS)

bench-smoke: $(STAMP)  ## every benchmark stage at scale 1 on SQLite, nothing written; fails if one breaks
	$(BIN)/python -m bench.run --smoke

# --universal: one lock valid on every supported Python (3.11 up; markers where pins differ);
# --generate-hashes: installs use --require-hashes, so a file that differs from the one locked
# (a compromised mirror, a re-uploaded release) is refused.
lock:  ## re-resolve the pinned dependencies after editing pyproject.toml
	$(BIN)/uv pip compile pyproject.toml -o requirements.txt -q --python-version 3.11 --universal --generate-hashes
	$(BIN)/uv pip compile pyproject.toml --extra dev -o requirements-dev.txt -q --python-version 3.11 --universal --generate-hashes

# The whole test suite on another supported Python, in a virtualenv of its own, from the same
# lock: make test-python OTHER_PYTHON=python3.13 (.ci/run does it for the newest one it finds).
OTHER_PYTHON ?= python3.13
OTHER_VENV = .venv-$(notdir $(OTHER_PYTHON))
test-python:  ## every test on OTHER_PYTHON (default python3.13)
	$(OTHER_PYTHON) -m venv $(OTHER_VENV)
	$(OTHER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(OTHER_VENV)/bin/python -m pip install --quiet --require-hashes -r requirements-dev.txt
	$(OTHER_VENV)/bin/python -m pip install --quiet --no-deps -e .
	$(OTHER_VENV)/bin/python -VV
	$(OTHER_VENV)/bin/pytest -q

migration: $(STAMP)  ## autogenerate a migration: make migration MSG="add foo"
	$(BIN)/python -c "import sys; from plans import migrate; from plans.db import make_engine; e = make_engine('sqlite:///.migration.db'); migrate.upgrade(e); migrate.revision(e, sys.argv[1])" "$(MSG)"
	rm -f .migration.db*

clean:
	rm -rf $(VENV) .venv-python3* .pytest_cache .mypy_cache .ruff_cache partnerplan.db*

starter:  ## refresh the config `partnerplan init` writes from the shipped example config/
	cp config/mappings/*.yaml config/mappings/README.md worker/starter/mappings/
	cp config/metrics.yaml config/rates.yaml config/writeback.yaml worker/starter/
	cp config/plans/p-00001.yaml worker/starter/plans/example-plan.yaml
