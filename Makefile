# oscserver: `make run` and `make test` set everything up themselves on a fresh Debian/Ubuntu machine.
#
#   make run    what running needs (system packages, .venv), then the server on its defaults
#   make test   that, plus the test tools (Pd, sclang, the [dev] extra), then ruff (format,
#               lint), mypy and pytest
#   make lint   ruff and mypy only
#   make bench  benchmarks that print figures (bench/)
#   make docs   regenerate docs/osc.md from the address table (a test fails when it is stale)
#   make fuzz   fresh property-test examples (FUZZ_EXAMPLES, 20000 each), then coverage-guided
#               fuzzing of the OSC path for FUZZ_SECONDS (60)
#   make soak   1,000,000 random and mutated datagrams at a running server (docs/reliability.md)
#   make faults every failure of the service, one after the other: what is told, what is heard
#   make soak-hour  an hour on JACK: 50 min of compressed rotations, 10 of reconnects every 10 s;
#                   memory, fds, tasks and latency (docs/reliability.md)
#   make continuity an hour of the service's pace, compressed, with and without --continuity stretch
#   make continuity-proof  three minutes on JACK of a service at 0.96 with chunks 3 s late
#   make beats  beat tracking against the engine's own beats: tempo, phase, time to lock, CPU
#   make sync   a minute on JACK locked to the internal clock, to JACK transport and to an
#               Ableton Link session (in a private network namespace: root), then 20 s after
#               the clock moves to 126 bpm, each against no lock: how far the kicks are from the
#               clock's beats, the time to lock, the tempo-follow delay; fails when the lock
#               misses its bounds (the long proof of tests/test_lock_*.py)
#   make pulse  the pulse's timing on JACK, printed: /lyria/beat against the kicks in the
#               recording (as it arrives, and a lookahead's time tags; not yet in make test:
#               see tests/test_pulse_jack.py), the MIDI clock's ticks against the beat grid
#   make bridge two JACK servers on this machine, oscserver on the first, its ports carried into
#               the second over 127.0.0.1 by zita-njbridge, netJACK2 (in a private network
#               namespace: root) and JackTrip (installed then): latency, gaps, resyncs, a
#               minute per setup (docs/network.md; tests/test_network_bridge.py is the short
#               version, zita-njbridge alone)
#   make clean  remove the virtualenv and caches

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# Debian packages. To run: jackd2 (JACK server and libjack), libportaudio2 (for sounddevice),
# python3-venv (for the .venv), gcc and libc6-dev (to build the C JACK callback,
# oscserver/adapters/audio/playout_native.c) and liblo-tools (oscsend and oscdump, which the
# README and docs/quickstart.md use to talk to the server from a terminal).
# To test, also: puredata-core and supercollider-language (the patches run in real Pd and
# sclang), iproute2 and util-linux (ip and unshare: Ableton Link's and OSC multicast's tests
# run in a private network namespace), chromium and chromium-driver (the web console's test),
# zita-njbridge (oscserver's audio bridged into a second JACK server). tests/test_setup.py checks that `make run` installs no more than RUN_APT.
RUN_APT := jackd2 liblo-tools libportaudio2 python3-venv gcc libc6-dev
TEST_APT := puredata-core supercollider-language iproute2 util-linux chromium chromium-driver \
	zita-njbridge
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The first interpreter that is Python >= 3.11.
PYTHON := $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	2>/dev/null && { echo $$p; break; }; done)
ARGS ?=

.PHONY: run test lint format bench docs fuzz soak faults soak-hour continuity continuity-proof beats sync bridge clean \
	system-deps system-deps-dev venv

run: $(VENV)/.installed
	$(BIN)/oscserver $(ARGS)

test: $(VENV)/.installed-dev
	$(BIN)/ruff format --check oscserver tests bench patches
	$(BIN)/ruff check oscserver tests bench patches
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff format --check oscserver tests bench patches
	$(BIN)/ruff check oscserver tests bench patches
	$(BIN)/mypy

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/engine_render.py
	$(BIN)/python bench/xruns.py --seconds 15
	$(BIN)/python bench/control_latency.py --count 100
	$(BIN)/python bench/osc_ingest.py --messages 50000
	$(BIN)/python bench/stretch.py 60
	$(BIN)/python bench/pulse.py 60

FUZZ_SECONDS ?= 60
FUZZ_EXAMPLES ?= 20000
DATAGRAMS ?= 1000000

fuzz: $(VENV)/.installed-dev
	HYPOTHESIS_PROFILE=explore FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q \
		tests/test_fuzz_osc.py tests/test_osc_codec.py
	$(BIN)/python bench/fuzz_osc.py -max_total_time=$(FUZZ_SECONDS)

soak: $(VENV)/.installed-dev
	$(BIN)/python bench/osc_soak.py --datagrams $(DATAGRAMS)

faults: $(VENV)/.installed-dev
	$(BIN)/python bench/faults.py

soak-hour: $(VENV)/.installed-dev
	$(BIN)/python bench/soak_resources.py --minutes 50 --sample 60 --output jack
	$(BIN)/python bench/soak_resources.py --minutes 10 --sample 20 --output jack --cap 10 --no-rotate

beats: $(VENV)/.installed-dev
	$(BIN)/python bench/beats.py

sync: $(VENV)/.installed-dev
	$(BIN)/python bench/sync.py --clock internal
	$(BIN)/python bench/sync.py --clock jack
	$(BIN)/python bench/sync.py --clock link

continuity: $(VENV)/.installed-dev
	$(BIN)/python bench/continuity.py --minutes 6 --compress 10

continuity-proof: $(VENV)/.installed-dev
	OSCSERVER_PROOF_SECONDS=180 $(BIN)/pytest -q -s tests/test_continuity_jack.py -k minutes

pulse: $(VENV)/.installed-dev
	OSCSERVER_PULSE_SECONDS=60 $(BIN)/pytest -q -s tests/test_pulse_jack.py tests/test_midi_clock_jack.py

bridge: $(VENV)/.installed-dev
	$(call apt_install,jacktrip)
	$(BIN)/python bench/bridge.py --seconds 60

docs: $(VENV)/.installed-dev
	$(BIN)/oscserver addresses > docs/osc.md

console-shots: $(VENV)/.installed-dev
	OSCSERVER_CONSOLE_SHOTS=docs/console $(BIN)/pytest -q tests/test_console_browser.py

format: $(VENV)/.installed-dev
	$(BIN)/ruff format oscserver tests bench patches
	$(BIN)/ruff check --fix oscserver tests bench patches

venv: $(VENV)/.installed-dev

# What is missing of a list of Debian packages, each found by what it installs.
define apt_install
	@missing=""; \
	for pkg in $(1); do \
		case $$pkg in \
			jackd2) command -v jackd >/dev/null ;; \
			liblo-tools) command -v oscsend >/dev/null && command -v oscdump >/dev/null ;; \
			libportaudio2) ldconfig -p 2>/dev/null | grep -q libportaudio.so.2 ;; \
			python3-venv) [ -n "$(PYTHON)" ] && $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null ;; \
			gcc) command -v gcc >/dev/null ;; \
			libc6-dev) [ -e /usr/include/stdint.h ] ;; \
			puredata-core) command -v pd >/dev/null ;; \
			supercollider-language) command -v sclang >/dev/null ;; \
			iproute2) command -v ip >/dev/null ;; \
			util-linux) command -v unshare >/dev/null ;; \
			*) dpkg -s $$pkg >/dev/null 2>&1 ;; \
		esac || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

system-deps:
	$(call apt_install,$(RUN_APT))

system-deps-dev: system-deps
	$(call apt_install,$(TEST_APT))

# Running needs the package and its runtime dependencies; testing adds the [dev] extra.
$(VENV)/.installed: pyproject.toml oscserver/adapters/audio/playout_native.c \
		oscserver/adapters/clock/timebase_native.c | system-deps
	@if [ -z "$(PYTHON)" ]; then echo "oscserver needs Python >= 3.11 (apt-get install python3)"; exit 1; fi
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed | system-deps-dev
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info build
	find oscserver -name '*.so' -delete
