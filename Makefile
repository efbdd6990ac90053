# The Migration Network Registry. `make run` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint format messages migrate worker scheduler serve bench bench-reports fuzz install clean lock lock-check

# The runtime dependencies come from requirements.lock, each file's hash checked, as in the
# image; the development tools ('.[dev]') are added on top.
$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=python3.11)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: $(STAMP)  ## everything in one process, on an embedded PostgreSQL unless DATABASE_URL is set
	$(BIN)/registry run

test: $(STAMP)  ## the whole suite, on DATABASE_URL or an embedded PostgreSQL, in TEST_WORKERS processes (2)
	$(BIN)/pytest -n $(or $(TEST_WORKERS),2) --dist loadgroup --cov=services --cov-report=term:skip-covered

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy services api worker
	$(BIN)/lint-imports  # which way imports may run: pyproject.toml [tool.importlinter]

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: $(STAMP)  ## extract the messages to translate, merge them into each language's .po, compile the .mo
	$(BIN)/python -m services.locales.catalogues

migrate: $(STAMP)  ## apply migrations, load reference (and demo) data (needs DATABASE_URL, as serve, worker and scheduler do)
	$(BIN)/registry migrate

serve: $(STAMP)  ## the API alone
	$(BIN)/registry serve

worker: $(STAMP)  ## Dramatiq workers (needs BROKER_URL), metrics on WORKER_METRICS_PORT
	$(BIN)/registry worker

scheduler: $(STAMP)  ## the scheduler alone
	$(BIN)/registry scheduler

bench: $(STAMP)  ## the benchmark suite (needs wrk, PostgreSQL, RabbitMQ): BENCH_SIZE=small|full
	$(BIN)/python -m tests.benchmarks.suite

bench-reports: $(STAMP)  ## how long the indicators and the activity report take on 100,000 events
	$(BIN)/python -m tests.benchmarks.reports

fuzz: $(STAMP)  ## schemathesis, every check and phase, long (FUZZ_EXAMPLES per operation, FUZZ_SEED)
	$(BIN)/python -m tests.fuzz $(or $(FUZZ_EXAMPLES),100) $(or $(FUZZ_SEED),1)

# The image installs requirements.lock (pip --require-hashes): the runtime dependencies of
# pyproject.toml, every package pinned with the hashes of its files. `make lock` after
# changing them; versions already pinned are kept unless pyproject.toml rules them out.
# The build backend (pyproject.toml [build-system]) is locked too: the image builds the
# registry with it, fetching nothing.
BUILD_REQUIRES = $(BIN)/python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")'
LOCK_COMPILE = $(BUILD_REQUIRES) | $(BIN)/uv pip compile pyproject.toml - --universal --generate-hashes \
	--python-version 3.11 --custom-compile-command "make lock" --quiet

lock: $(STAMP)  ## requirements.lock from pyproject.toml (needs the package index)
	$(LOCK_COMPILE) -o requirements.lock

lock-check: $(STAMP)  ## fails when requirements.lock no longer matches pyproject.toml
	@fresh=$$(mktemp) && cp requirements.lock $$fresh \
	 && $(LOCK_COMPILE) -o $$fresh \
	 && if ! diff -u requirements.lock $$fresh; then \
	        rm -f $$fresh; \
	        echo "requirements.lock does not match pyproject.toml (the diff above is what it lacks): run 'make lock' and commit requirements.lock" >&2; \
	        exit 1; \
	    fi; rm -f $$fresh; echo "requirements.lock matches pyproject.toml"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
