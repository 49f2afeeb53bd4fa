# oscserver: `make run` and `make test` set everything up themselves on a fresh Debian/Ubuntu machine.
#
#   make run    system packages + .venv, then the server on its embedded defaults
#   make test   system packages + .venv, then ruff (format, lint), mypy and pytest
#   make lint   ruff and mypy only
#   make bench  benchmarks that print figures (bench/)
#   make docs   regenerate docs/osc.md from the address table (a test fails when it is stale)
#   make fuzz   fresh property-test examples (FUZZ_EXAMPLES, 20000 each), then coverage-guided
#               fuzzing of the OSC path for FUZZ_SECONDS (60)
#   make soak   1,000,000 random and mutated datagrams at a running server (docs/reliability.md)
#   make faults every failure of the service, one after the other: what is told, what is heard
#   make soak-hour  an hour of compressed rotations on JACK: memory, fds, tasks (docs/reliability.md)
#   make clean  remove the virtualenv and caches

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# Debian packages: jackd2 (JACK server and libjack), liblo-tools (oscsend, the independent OSC
# sender used by the tests), libportaudio2 (for sounddevice), python3-venv (for the .venv),
# gcc and libc6-dev (to build the C JACK callback, oscserver/adapters/audio/playout_native.c),
# puredata-core and supercollider-language (to test patches/pd in Pd and patches/supercollider
# in sclang).
APT_PACKAGES := jackd2 liblo-tools libportaudio2 python3-venv gcc libc6-dev puredata-core \
	supercollider-language
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The first interpreter that is Python >= 3.11.
PYTHON := $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	2>/dev/null && { echo $$p; break; }; done)
ARGS ?=

.PHONY: run test lint format bench docs fuzz soak faults soak-hour clean system-deps venv

run: venv
	$(BIN)/oscserver $(ARGS)

test: venv
	$(BIN)/ruff format --check oscserver tests bench patches
	$(BIN)/ruff check oscserver tests bench patches
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: venv
	$(BIN)/ruff format --check oscserver tests bench patches
	$(BIN)/ruff check oscserver tests bench patches
	$(BIN)/mypy

bench: venv
	$(BIN)/python bench/engine_render.py
	$(BIN)/python bench/xruns.py --seconds 15
	$(BIN)/python bench/control_latency.py --count 100
	$(BIN)/python bench/osc_ingest.py --messages 50000

FUZZ_SECONDS ?= 60
FUZZ_EXAMPLES ?= 20000
DATAGRAMS ?= 1000000

fuzz: venv
	HYPOTHESIS_PROFILE=explore FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q \
		tests/test_fuzz_osc.py tests/test_osc_codec.py
	$(BIN)/python bench/fuzz_osc.py -max_total_time=$(FUZZ_SECONDS)

soak: venv
	$(BIN)/python bench/osc_soak.py --datagrams $(DATAGRAMS)

faults: venv
	$(BIN)/python bench/faults.py

soak-hour: venv
	$(BIN)/python bench/soak_resources.py --minutes 60 --sample 60 --output jack

docs: venv
	$(BIN)/oscserver addresses > docs/osc.md

format: venv
	$(BIN)/ruff format oscserver tests bench patches
	$(BIN)/ruff check --fix oscserver tests bench patches

venv: $(VENV)/.installed

system-deps:
	@missing=""; \
	command -v jackd >/dev/null || missing="$$missing jackd2"; \
	command -v oscsend >/dev/null || missing="$$missing liblo-tools"; \
	ldconfig -p 2>/dev/null | grep -q libportaudio.so.2 || missing="$$missing libportaudio2"; \
	command -v gcc >/dev/null && [ -e /usr/include/stdint.h ] || missing="$$missing gcc libc6-dev"; \
	command -v pd >/dev/null || missing="$$missing puredata-core"; \
	command -v sclang >/dev/null || missing="$$missing supercollider-language"; \
	[ -n "$(PYTHON)" ] && $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
	fi

$(VENV)/.installed: pyproject.toml oscserver/adapters/audio/playout_native.c | system-deps
	@if [ -z "$(PYTHON)" ]; then echo "oscserver needs Python >= 3.11 (apt-get install python3)"; exit 1; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info build
	find oscserver -name '*.so' -delete
