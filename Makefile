# asyncflask: `make run` serves the example app, `make test` runs every check.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Two stamps in one venv: RUN_STAMP is the package with its dependencies
# (all that `make run` needs, in seconds), STAMP adds the dev and bench
# tools and brings RUN_STAMP up to date with it.
RUN_STAMP := $(VENV)/.installed-run
STAMP     := $(VENV)/.installed
PIP       := $(BIN)/python -m pip --disable-pip-version-check
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint typecheck pytest docs system-deps fmt bench bench-quick soak clean flask-suite

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# pip as Python ships it: upgrading it would cost seconds, and it is only
# upgraded for the full toolchain.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev,bench,docs]'
	touch $@ $(RUN_STAMP)

# `exec`: the server is make's child, with no shell between them that Ctrl-C
# or SIGTERM would kill; it shuts down, exits 0, and make reports nothing.
run: $(RUN_STAMP)
	cd examples && exec $(abspath $(BIN))/asyncflask --app app:app run --host $(HOST) --port $(PORT)

test: lint typecheck docs pytest

lint: $(STAMP)
	$(BIN)/ruff check asyncflask tests examples bench compat
	$(BIN)/ruff format --check asyncflask tests examples bench compat

typecheck: $(STAMP)
	$(BIN)/mypy

# The site: README.md as the front page, docs/*.md and the API reference
# from the docstrings, in build/docs. Any warning fails it: a broken link, an
# unresolved reference, a docstring's markup error. Built afresh (-E) each
# time, since an incremental build does not repeat the warnings of pages it
# does not read again.
docs: $(STAMP)
	$(BIN)/sphinx-build -E -W --keep-going -n -q -c docs -b html . build/docs

pytest: $(STAMP) system-deps
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest -p no:cacheprovider
	$(BIN)/coverage combine -q || true
	$(BIN)/coverage report

# The Debian programs of the Redis and browser tests (each package is named
# after its program), installed when missing and running as root; without
# them those tests skip and say why.
SYSTEM_DEPS := redis-server chromium
system-deps:
	@missing=; for p in $(SYSTEM_DEPS); do command -v $$p >/dev/null || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing$$missing with apt-get"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get -qq -o DPkg::Lock::Timeout=300 update && \
		apt-get -qq -y -o DPkg::Lock::Timeout=300 install $$missing >/dev/null || \
		echo "could not install$$missing: the tests that need them skip"; \
	fi

fmt: $(STAMP)
	$(BIN)/ruff check --fix asyncflask tests examples bench compat
	$(BIN)/ruff format asyncflask tests examples bench compat

bench: $(STAMP)
	$(BIN)/python -m bench.run

bench-quick: $(STAMP)
	$(BIN)/python -m bench.run --quick

# memory, 10,000 idle SSE connections and a 100k-request soak (minutes; not in `test`)
soak: $(STAMP)
	$(BIN)/python -m tests.soak

# Flask's own test suite (its sdist's tests/, unchanged) run against
# asyncflask through compat/flask_suite; the sdist is downloaded once into
# build/. Tests that cannot apply to ASGI are listed in
# compat/flask_suite/not_applicable.toml.
FLASK_VERSION := 3.1.3
FLASK_SUITE   := build/flask-suite
FLASK_TESTS   := $(FLASK_SUITE)/flask-$(FLASK_VERSION)/tests

$(FLASK_TESTS): | $(STAMP)
	mkdir -p $(FLASK_SUITE)
	$(BIN)/python -m pip download --quiet --no-deps --no-binary :all: \
		flask==$(FLASK_VERSION) -d $(FLASK_SUITE)
	tar -xzf $(FLASK_SUITE)/flask-$(FLASK_VERSION).tar.gz -C $(FLASK_SUITE) \
		flask-$(FLASK_VERSION)/tests
	touch $(FLASK_TESTS)

# The run takes seconds; `timeout` ends one that hangs in code no pytest
# timeout covers (a fixture's teardown after a failed test).
flask-suite: $(STAMP) $(FLASK_TESTS)
	cd $(FLASK_TESTS)/.. && PYTHONPATH=$(CURDIR):$(CURDIR)/compat timeout -k 10 300 \
		$(abspath $(BIN))/python -m pytest -c $(CURDIR)/compat/flask_suite/pytest.ini \
		--rootdir . -p flask_suite.adapter tests $(ARGS)

clean:
	rm -rf $(VENV) .coverage .coverage.* .mypy_cache .ruff_cache build *.egg-info
