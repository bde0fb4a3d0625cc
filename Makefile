# Set-up and everyday commands. `make app` and `make test` each install everything on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYSSTAMP := $(VENV)/.system-installed
PORT ?= 8501
SAMPLE := samples/demo_building.ifc

.PHONY: install system-deps test app demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[dev]'
	$(PY) -m twin.warmup  # compile the numba kernels once (about 40 CPU-s), not in every first run
	touch $(STAMP)

# Debian packages the tests and the app need (chromium for browser tests, PostgreSQL for the store,
# EGL/OSMesa for offscreen rendering, poppler-utils to check report PDFs, a JRE for the MPXJ reference
# reader in the schedule tests). Skipped where they are already present.
SYSTEM_PACKAGES := chromium postgresql libegl1 libgl1 libosmesa6 ffmpeg poppler-utils openjdk-17-jre-headless
system-deps: $(SYSSTAMP)

$(SYSSTAMP): Makefile
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@mkdir -p $(VENV) && touch $(SYSSTAMP)

test: install system-deps
	$(PY) -m pytest -q -n auto --dist loadfile

# Opens the app on the bundled sample (samples/demo_building.ifc); runs until Ctrl-C.
app: install system-deps
	$(VENV)/bin/twin app --port $(PORT)

demo: install
	$(VENV)/bin/twin demo

bench: install
	$(PY) benchmarks/run_all.py $(BENCH)

clean:
	rm -rf $(VENV) .pytest_cache .twin-cache
