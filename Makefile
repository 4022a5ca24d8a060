# Every target sets itself up from nothing: a virtual environment in .venv with the package installed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The MultiLoc FASTA files (never copied into the repository).
export PROTLOC_DATA_DIR ?= $(abspath ../shared/data/multiloc)

.PHONY: test demo bench clean

$(STAMP): setup.cfg setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $@

test: $(STAMP)
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/python -m protloc.demo

# Long (hours on 2 CPU cores): the paper's Table 1 and the speed benchmark; both resume where they stopped.
bench: $(STAMP)
	$(BIN)/python benchmarks/table1.py --epochs 100 --members 10 --out runs/table1
	$(BIN)/python benchmarks/speed.py --ensemble runs/table1/ensemble.keras

clean:
	rm -rf $(VENV) build *.egg-info
