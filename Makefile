# Two commands, as the README's quick start says:
#   make demo   creates .venv/, installs crmid (the core only) into it and runs the demo on the bundled CDNOW data
#   make test   installs the test tools and Spark too (extras dev,spark), then runs the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORE := $(VENV)/.installed-core
FULL := $(VENV)/.installed-dev

.PHONY: demo test install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(CORE): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(CORE)

$(FULL): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	touch $(CORE) $(FULL)

install: $(CORE)
install-dev: $(FULL)

demo: $(CORE)
	$(BIN)/crmid demo

# pytest exits 5 when it collects no tests: that is a failure, not a pass.
test: $(FULL)
	$(BIN)/python -m pytest tests; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected" >&2; exit 1; fi; exit $$rc

clean:
	rm -rf $(VENV) build *.egg-info crmid-work .pytest_cache
