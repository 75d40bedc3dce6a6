# The README's two commands: `make demo` (the main job) and `make test` (the suite).
# Each creates the virtual environment on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.fusionguard-installed
TEST_STAMP := $(VENV)/.fusionguard-test-installed

.PHONY: demo test lint bench clean serve

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[demo,test,postgres,server,c2pa]'
	touch $(STAMP)

# What the whole suite needs beyond the package's extras: the diffusers adapter's tests run a tiny
# pipeline on a CPU build of torch (pip takes the local 2.13.0 file; never a CUDA build). CI runs this
# same target (.ci/run), so `make test` here and in CI run the same tests.
$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q 'diffusers>=0.30' 'transformers>=4.40'
	touch $(TEST_STAMP)

demo: $(STAMP)
	$(VENV)/bin/fusionguard --home out/demo-home demo --out out/demo

# The admin console on the demo's records: runs the demo once, prints a one-time admin password.
serve: $(STAMP)
	test -f out/demo-home/audit.db || $(MAKE) demo
	$(VENV)/bin/fusionguard --home out/demo-home admin add admin --role admin 2>/dev/null \
	  || $(VENV)/bin/fusionguard --home out/demo-home admin password admin
	$(VENV)/bin/fusionguard --home out/demo-home serve --listen 127.0.0.1:8700

lint: $(STAMP)
	$(VENV)/bin/ruff check fusionguard tests bench migrations docs
	$(VENV)/bin/ruff format --check fusionguard tests bench migrations docs
	$(VENV)/bin/mypy

# The suite runs on one worker per core (pytest-xdist), at most 4: each worker loads the face, NSFW and
# diffusion models and starts its own PostgreSQL cluster. TEST_JOBS=0 runs it in one process.
TEST_JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 4 ] && n=4; echo $$n)

test: $(TEST_STAMP) lint
	$(PY) -m pytest -n $(TEST_JOBS)

bench: $(STAMP)
	for b in audit checks fingerprint watermark trace guard console witness; do $(PY) bench/$$b/run.py || exit 1; done

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache
