# Two commands, as the README's quick start says:
#   make demo   creates .venv/, installs crmid into it and runs the demo on the bundled CDNOW data
#   make test   runs the whole test suite (installs first if needed)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/crmid demo

# pytest exits 5 when it collects no tests: that is a failure, not a pass.
test: $(STAMP)
	$(BIN)/python -m pytest tests; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected" >&2; exit 1; fi; exit $$rc

clean:
	rm -rf $(VENV) build *.egg-info crmid-work .pytest_cache
