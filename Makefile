# phonehome: Wireshark plugin + filtergen. `make help` lists the targets.

SHELL := /bin/bash
CARGO ?= cargo
# Recursive (=) on purpose: these are asked of pkg-config when a recipe runs,
# after `deps` may have installed Wireshark's development files, not when
# make reads this file.
WS_VERSION = $(shell pkg-config --modversion wireshark 2>/dev/null)
WS_XY = $(shell echo "$(WS_VERSION)" | cut -d. -f1,2)
USER_PLUGIN_DIR = $(HOME)/.local/lib/wireshark/plugins/$(WS_XY)/epan
SYSTEM_PLUGIN_DIR = $(shell pkg-config --variable=plugindir wireshark 2>/dev/null)/epan
# Another Wireshark X.Y for check-wireshark and deb (4.0, 4.4 or 4.6).
WS ?=
PLUGIN := target/release/libphonehome.so
SAMPLES := target/samples
SHARED_CAPTURES := ../shared/captures
VENV := .venv

.PHONY: help deps build install install-system uninstall samples demo test venv \
        check-wireshark deb debs check-deb check-suricata bench bench-plugin bench-suricata bench-report bench-run bench-watch fuzz fuzz-plugin clean

help:
	@echo "make demo                 deps, build, install the plugin, dissect the sample captures, generate filters"
	@echo "make test                 deps, build, install, then every unit and end-to-end test"
	@echo "make deps                 install what is missing on Debian/Ubuntu (tshark, libwireshark-dev, ...)"
	@echo "make build                build the plugin, filtergen and the sample generator (release)"
	@echo "make install              copy the plugin to $(USER_PLUGIN_DIR)"
	@echo "make install-system       copy the plugin to $(SYSTEM_PLUGIN_DIR) (needs root)"
	@echo "make uninstall            remove the plugin from both folders"
	@echo "make samples              write the sample captures to $(SAMPLES)/"
	@echo "make check-wireshark WS=4.4  build the same source against Wireshark 4.4 (trixie) or 4.6 (sid) in a chroot, compare every field"
	@echo "make deb [WS=4.4|4.6]     Debian package for the host's Wireshark, or for WS built in its chroot"
	@echo "make debs                 the packages for 4.0, 4.4 and 4.6"
	@echo "make check-deb            install, use and remove each package in target/debian/ in a fresh chroot"
	@echo "make check-suricata       filtergen suricata and report --eve against real Suricata (SURICATA_SUITE=trixie: 7, sid: 8; chroot in target/)"
	@echo "make bench                benchmarks (bench-plugin, bench-report, bench-run, bench-watch): ratios measured side by side"
	@echo "make bench-watch          packets/s filtergen watch keeps up with before dumpcap drops (root: veth in a namespace)"
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
bench: bench-plugin bench-report bench-run bench-watch

bench-plugin: install
	scripts/bench-plugin.sh

bench-report: install
	scripts/bench-report.sh

bench-run: build
	scripts/bench-run.sh

bench-watch: build
	scripts/bench-watch.sh

# Fuzzing (libFuzzer through cargo fuzz, on the stable toolchain).
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) scripts/fuzz.sh

# Every sample capture mutated and run through tshark with the plugin.
fuzz-plugin: install
	scripts/fuzz-plugin.sh

check-wireshark: install
	@test -n "$(WS)" || { echo "usage: make check-wireshark WS=4.4 (or 4.6, 4.0)" >&2; exit 2; }
	@scripts/check-wireshark.sh $(WS)

deb:
	@scripts/deb.sh $(WS)

debs:
	@scripts/deb.sh 4.0 && scripts/deb.sh 4.4 && scripts/deb.sh 4.6

check-deb:
	@scripts/check-deb.sh target/debian/*.deb

# Not part of `test`: builds (once) a Debian chroot with Suricata under
# target/suricata-$(SURICATA_SUITE) and runs it on every sample capture.
SURICATA_SUITE ?= trixie
check-suricata:
	@scripts/check-suricata.sh $(SURICATA_SUITE)

bench-suricata: build
	scripts/bench-suricata.sh $(SURICATA_SUITE)

clean:
	$(CARGO) clean
	rm -rf $(VENV)
