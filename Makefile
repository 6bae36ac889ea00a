# Two commands on a fresh machine:  `make run` (install, then the main job on the embedded data)
# and `make test` (install with test extras, then the test suite).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: run test bench clean

run: $(VENV)/.installed
	$(BIN)/gearsplan suggest --budget 50

test: $(VENV)/.installed
	$(BIN)/python -m pytest

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/run.py

# torch first, from the pinned CPU wheel, so that nothing pulls a CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
