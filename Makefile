# negsim: `make demo` runs the baseline batch, `make test` runs the checks.
# The first Python found that is 3.12 or newer builds .venv.
PYTHON ?= $(shell for p in python3.12 python3.13 python3 $$HOME/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint bench clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "negsim needs Python 3.12 or newer (python3.12 not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,calibrate]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/negsim run scenarios/baseline.yaml --runs 2000 --seed 1

# The house's checks: style and complexity (ruff, C901 at 20), function length (60 lines),
# the wings' import direction (import-linter) and the type budget (mypy: 40, none in sim/engine).
lint: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks
	$(BIN)/python tools/function_size.py sim
	$(BIN)/lint-imports
	$(BIN)/python tools/mypy_budget.py

# The default run, then the slow soak, fault, abuse and oracle tests as a separate, bounded step. The default run
# goes on 2 processes (pytest-xdist, a test file to a process: `--dist loadfile` keeps a file's shared batches in
# one process), TEST_WORKERS=1 for one. Measured in clean clones on this 2-core machine: 1,288 tests in 9 min
# 36 s on 2 processes with nothing else running (13 min 22 s at load 1-3); one process took 20 min 23 s in the
# last CI run, before the cuts of "Test time, part 2" (CHANGELOG). The slow step runs in one process: 48 tests in 24 to 30
# min. The bound (40 min) stops a slow step that hangs in time for CI to report it. Tests that time nothing but
# a hang use guards of minutes, never a speed limit.
TEST_WORKERS ?= 2
test: lint
	$(BIN)/python -m pytest -q $(if $(filter 1,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)
	timeout 2400 $(BIN)/python -m pytest -q -m slow

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_engines.py

clean:
	rm -rf $(VENV) build *.egg-info
