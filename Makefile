# Two commands on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# torch/torchvision pinned to the builds served from local disk on the project machines;
# elsewhere pip fetches them from the package index.
TORCH_PINS := torch==2.14.1 torchvision==0.29.1

.PHONY: install test demo lint clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q $(TORCH_PINS)
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

test: install
	$(PY) -m pytest -q tests

demo: install
	$(PY) -m fasrgan_basicsr.demo

lint: install
	$(PY) -m ruff check .

clean:
	rm -rf experiments/demo_* results/demo_* datasets/demo demo_output
