# The README's two commands: `make demo` (the main job) and `make test` (the suite).
# Each creates the virtual environment on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.fusionguard-installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[demo,test,postgres]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/fusionguard --home out/demo-home demo --out out/demo

lint: $(STAMP)
	$(VENV)/bin/ruff check fusionguard tests bench migrations docs
	$(VENV)/bin/ruff format --check fusionguard tests bench migrations docs
	$(VENV)/bin/mypy

test: $(STAMP) lint
	$(PY) -m pytest

bench: $(STAMP)
	for b in audit checks fingerprint watermark trace guard witness; do $(PY) bench/$$b/run.py || exit 1; done

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache
