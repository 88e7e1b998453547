# NotAlone: `make run` starts the proxy and the dashboard; `make test` runs every check on every supported
# Python found here. Both set up their virtual environments from requirements.lock first.
PYTHON ?= $(shell scripts/find-python)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test test-one lint model bench browser lock clean

# A clean environment (no system site-packages) with exactly the locked, hash-checked packages.
$(STAMP): pyproject.toml requirements.lock
	@test -n "$(PYTHON)" || { echo "No Python >= 3.12 found; see the message above." >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check --disable-pip-version-check
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/notalone up

browser:
	@scripts/install-browser

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The suite on one Python (the newest found, or PYTHON=... VENV=...).
test-one: $(STAMP) browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Lint once, then the whole suite on each supported Python found (3.12, 3.13, 3.14), each in its own venv.
test: lint browser
	@set -e; for py in $$(scripts/find-python --all); do \
	  v=$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	  echo "== Python $$v =="; \
	  $(MAKE) --no-print-directory test-one PYTHON=$$py VENV=.venv-$$v; \
	done

# The shipped model, with every figure of models/model-card.*: Debian's documentation pages are part of its
# real training data, so they are installed first.
model: $(STAMP)
	@scripts/install-training-pages
	$(BIN)/notalone train

bench: $(STAMP)
	$(BIN)/python -m bench

# Refresh requirements.lock from pyproject.toml (run after changing a dependency; commit both). It needs
# only uv from the existing venv: a new dependency not yet locked must not stop it at the install's check.
lock:
	@test -x $(BIN)/uv || $(MAKE) --no-print-directory $(STAMP)
	$(BIN)/uv pip compile pyproject.toml requirements-build.in --extra test --extra train --universal \
	  --python-version 3.12 --generate-hashes --quiet -o requirements.lock

clean:
	rm -rf $(VENV) .venv-3.* build *.egg-info .pytest_cache .ruff_cache test-artifacts
