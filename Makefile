# phonehome: Wireshark plugin + filtergen. `make help` lists the targets.

SHELL := /bin/bash
CARGO ?= cargo
WS_VERSION := $(shell pkg-config --modversion wireshark 2>/dev/null)
WS_XY := $(shell echo "$(WS_VERSION)" | cut -d. -f1,2)
USER_PLUGIN_DIR := $(HOME)/.local/lib/wireshark/plugins/$(WS_XY)/epan
SYSTEM_PLUGIN_DIR := $(shell pkg-config --variable=plugindir wireshark 2>/dev/null)/epan
PLUGIN := target/release/libphonehome.so
SAMPLES := target/samples
SHARED_CAPTURES := ../shared/captures
VENV := .venv

.PHONY: help deps build install install-system uninstall samples demo test venv \
        check-wireshark-4.4 bench bench-plugin bench-report bench-run fuzz fuzz-plugin clean

help:
	@echo "make demo                 deps, build, install the plugin, dissect the sample captures, generate filters"
	@echo "make test                 deps, build, install, then every unit and end-to-end test"
	@echo "make deps                 install what is missing on Debian/Ubuntu (tshark, libwireshark-dev, ...)"
	@echo "make build                build the plugin, filtergen and the sample generator (release)"
	@echo "make install              copy the plugin to $(USER_PLUGIN_DIR)"
	@echo "make install-system       copy the plugin to $(SYSTEM_PLUGIN_DIR) (needs root)"
	@echo "make uninstall            remove the plugin from both folders"
	@echo "make samples              write the sample captures to $(SAMPLES)/"
	@echo "make check-wireshark-4.4  build and run the same source against Wireshark 4.4 (Debian trixie chroot)"
	@echo "make bench                benchmarks (bench-plugin, bench-report, bench-run): ratios measured side by side"
	@echo "make fuzz                 cargo fuzz on every parser target (FUZZ_SECONDS=60 each, FUZZ_JOBS=1 at a time)"
	@echo "make fuzz-plugin          mutated sample captures through tshark with the plugin and all keys"

deps:
	@scripts/deps.sh

build:
	$(CARGO) build --release --workspace

install: build
	@test -n "$(WS_XY)" || { echo "pkg-config finds no wireshark: run 'make deps'" >&2; exit 2; }
	install -d "$(USER_PLUGIN_DIR)"
	install -m 0644 $(PLUGIN) "$(USER_PLUGIN_DIR)/phonehome.so"
	@echo "installed $(USER_PLUGIN_DIR)/phonehome.so (Wireshark $(WS_VERSION))"

install-system: build
	install -d "$(SYSTEM_PLUGIN_DIR)"
	install -m 0644 $(PLUGIN) "$(SYSTEM_PLUGIN_DIR)/phonehome.so"
	@echo "installed $(SYSTEM_PLUGIN_DIR)/phonehome.so"

uninstall:
	rm -f "$(USER_PLUGIN_DIR)/phonehome.so" "$(SYSTEM_PLUGIN_DIR)/phonehome.so"

samples: build
	target/release/phonehome-samples $(SAMPLES)

demo: deps install samples
	@scripts/demo.sh "$(SAMPLES)" "$(SHARED_CAPTURES)"

venv: $(VENV)/.done
$(VENV)/.done: tests/peers/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/peers/requirements.txt
	touch $@

test: deps venv install
	$(CARGO) test --release --workspace

# Benchmarks print ratios measured side by side in one run; run them on a
# quiet machine. bench-run compares with tshark on a 1 GB set (about 30 min).
bench: bench-plugin bench-report bench-run

bench-plugin: install
	scripts/bench-plugin.sh

bench-report: install
	scripts/bench-report.sh

bench-run: build
	scripts/bench-run.sh

# Fuzzing (libFuzzer through cargo fuzz, on the stable toolchain).
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) scripts/fuzz.sh

# Every sample capture mutated and run through tshark with the plugin.
fuzz-plugin: install
	scripts/fuzz-plugin.sh

check-wireshark-4.4:
	@scripts/check-wireshark-4.4.sh

clean:
	$(CARGO) clean
	rm -rf $(VENV)
