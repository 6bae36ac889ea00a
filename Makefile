# Two commands on a fresh machine:  `make run` (install, then the main job on the embedded data)
# and `make test` (install with test extras, then the test suite).
VENV ?= .venv
PYTHON ?= python3
# Where torch comes from: empty, pip's default index (PyPI's default build of torch); or another
# index, e.g. `make test TORCH_INDEX=https://download.pytorch.org/whl/cpu` for the CPU-only build.
# It counts when the venv is made: `make clean` first to change the build of an existing one.
TORCH_INDEX ?=
BIN := $(VENV)/bin

.PHONY: run test bench clean

run: $(VENV)/.installed
	$(BIN)/gearsplan suggest --budget 50

test: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/run.py

# torch first, pinned and from TORCH_INDEX when given, so that installing gearsplan keeps that build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX) )torch==2.13.0
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
