# One command builds the environment from nothing and runs the whole suite: `make test`.
PYTHON ?= python3
VENV ?= .venv
BASETEMP ?= /tmp/smp-tests
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test unit functional integration demo bench env clean

$(STAMP): setup.py requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=23" setuptools wheel
	$(PY) -m pip install --quiet -c requirements/constraints.txt -e '.[tests]'
	touch $(STAMP)

env: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest --basetemp=$(BASETEMP) tests

unit: $(STAMP)
	$(PY) -m pytest --basetemp=$(BASETEMP) tests/unit

functional: $(STAMP)
	$(PY) -m pytest --basetemp=$(BASETEMP) tests/functional

integration: $(STAMP)
	$(PY) -m pytest --basetemp=$(BASETEMP) tests/integration

demo: $(STAMP)
	$(PY) -m saltext_masterplugin.testing.demo

bench: $(STAMP)
	$(PY) benchmarks/run.py --json benchmarks/results.json

clean:
	rm -rf $(VENV) $(BASETEMP) build *.egg-info
