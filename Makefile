# Two commands on a fresh clone: `make demo` and `make test`.
# Another Python: `make test PYTHON=python3.13` (a venv of its own, .venv-py3.13; pyenv's install is
# found when that version is not selected). Part of the suite: `make test TESTS=tests/test_compat.py`.
PYTHON ?= python3
PYTHON_EXE := $(shell tools/find_python.sh '$(PYTHON)')
PYTHON_VERSION := $(if $(PYTHON_EXE),$(shell '$(PYTHON_EXE)' -c 'import sys; print("%d.%d" % sys.version_info[:2])'))
ifeq ($(origin PYTHON),file)
VENV ?= .venv
else
VENV ?= .venv-py$(PYTHON_VERSION)
endif
PY := $(VENV)/bin/python
TESTS ?= tests
# pytest-xdist: one worker per core (the e2e tests are mostly single-threaded child processes); 0 runs in one process
WORKERS ?= auto
# torch/torchvision pinned to the builds served from local disk (Python 3.11) on the project machines;
# for other Pythons, and elsewhere, pip fetches them from the package index.
TORCH_PINS := torch==2.14.1 torchvision==0.29.1

.PHONY: install test demo demo-realworld lint clean

install: $(VENV)/.installed

# basicsr 1.4.2 is an sdist whose setup.py fails on Python >= 3.13: tools/install_basicsr.py builds
# and installs it (same wheel on every Python), so that `pip install -e .` finds it installed.
$(VENV)/.installed: setup.py tools/install_basicsr.py
	@test -n '$(PYTHON_EXE)' || { echo 'error: PYTHON=$(PYTHON) does not run (no such interpreter)' >&2; exit 2; }
	test -x $(PY) || '$(PYTHON_EXE)' -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q $(TORCH_PINS)
	$(PY) tools/install_basicsr.py
	$(PY) -m pip install -q -e '.[dev,docs]'
	touch $@

test: install
	$(PY) -m pytest -q -n $(WORKERS) $(TESTS)

demo: install
	$(PY) -m fasrgan_basicsr.cli.demo

# Not part of `make demo` (about 5 minutes more on a 2-core CPU): Real-ESRGAN's recipe with fine-grained attention
# on the same photographs, a degraded input beside the SR and its score map (README, "Real-world SR").
demo-realworld: install
	$(PY) -m fasrgan_basicsr.cli.demo_realworld

lint: install
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports

# The documentation site (mkdocs.yml), strict: a broken link, an orphan page or an unreadable docstring fails it.
.PHONY: docs
docs: install
	$(PY) -m mkdocs build --strict --site-dir site

# exactly what `make demo` and `make demo-realworld` wrote under the repository (fasrgan_basicsr/demos/outputs.py lists it)
clean:
	$(PYTHON_EXE) fasrgan_basicsr/demos/outputs.py

# Mutation testing (not part of `make test`; takes long): the score of each core module and its surviving
# mutants, each module against the fast tests that cover it. `make mutate MODULES=losses` runs one.
MODULES ?=
.PHONY: mutate
mutate: install
	PY=$(PY) tools/mutate.sh $(MODULES)
