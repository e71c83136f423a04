# parcours: the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Tests run on every core (pytest-xdist); tests sharing a costly fixture stay in one worker
# (tests/conftest.py). `make test PARALLEL=` runs them in one process.
PARALLEL ?= -n auto --dist loadgroup

.PHONY: demo test test-fast bench lint venv clean browser

# pip never downloads a browser: the browser tests drive Debian's Chromium (see `browser`).
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/parcours demo --out results

test: $(STAMP) browser
	$(BIN)/python -m pytest -q $(PARALLEL)

# The inner loop: everything but the tests marked slow (notebooks, long statistical checks).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" $(PARALLEL)

# The browser tests (HTML report, parcours app) drive Debian's Chromium: installed here when
# missing and we are root (as in CI); elsewhere those tests skip and say why.
browser:
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || { \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

# Ciw is an optional yardstick: installed here if it can be, skipped by the report if not.
bench: $(STAMP)
	-$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/run.py

lint: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks
	$(BIN)/ruff format --check sim tests benchmarks
	$(BIN)/mypy sim
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info
