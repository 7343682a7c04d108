# The two commands of the README: `make run` and `make test`.
# Both create .venv and install Kestrel with everything it needs first.
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup run test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

setup: $(STAMP)

run: setup
	$(VENV)/bin/kestrel replay

test: setup
	$(VENV)/bin/python -m pytest -q

bench: setup
	$(VENV)/bin/kestrel bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
