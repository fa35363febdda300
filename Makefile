# The two commands of the README: `make serve` and `make test`.
# Each does all its set-up on a fresh machine (virtualenv, install, schema).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve serve-portal test install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip "setuptools>=78.1.1,<82" wheel

# Reinstalled whenever a setup.py changes; the example portal too (its tests
# import it, and `pserve examples/portal/development.ini` serves it).
$(VENV)/.installed: setup.py examples/portal/setup.py | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]" -e examples/portal
	touch $@

install: $(VENV)/.installed

# pserve imports pyramid, and pyramid pkg_resources (a UserWarning of
# setuptools >= 81 at every start), before our package can filter it.
SERVE_WARNINGS := PYTHONWARNINGS="ignore:pkg_resources is deprecated:UserWarning"

# `make serve PORT=6544`: development.ini's second server, whose port is a variable.
PORT ?=
SERVE_ARGUMENTS := $(if $(PORT),--server-name port development.ini http_port=$(PORT),development.ini)

serve: install
	$(BIN)/initialize_lambda_registry_db development.ini
	$(SERVE_WARNINGS) $(BIN)/pserve $(SERVE_ARGUMENTS)

serve-portal: install
	$(BIN)/initialize_lambda_registry_db examples/portal/development.ini
	$(SERVE_WARNINGS) $(BIN)/pserve examples/portal/development.ini

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) *.egg-info examples/portal/*.egg-info lambda_registry.sqlite* examples/portal/portal.sqlite*
