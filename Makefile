# The two commands of the README: `make serve` and `make test`.
# Each does all its set-up on a fresh machine (virtualenv, install, schema).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip "setuptools<82" wheel

# Reinstalled whenever setup.py changes.
$(VENV)/.installed: setup.py | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

serve: install
	$(BIN)/initialize_lambda_registry_db development.ini
	$(BIN)/pserve development.ini

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) *.egg-info lambda_registry.sqlite*
