# crossrec — the two commands: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= configs/dev.yaml
APT_PACKAGES := librdkafka-dev kcat socat systemd curl prometheus
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN := .build/debug
RELEASE_BIN := .build/release
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
UNITDIR = $(PREFIX)/lib/systemd/system
SYSUSERSDIR = $(PREFIX)/lib/sysusers.d
DOCDIR = $(PREFIX)/share/doc/crossrec
MANDIR = $(PREFIX)/share/man
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR = $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR = $(PREFIX)/share/fish/vendor_completions.d
SYSCONFDIR ?= /etc
# Binaries `install` copies (release by default; the unit check uses the debug build).
INSTALL_BIN ?= $(RELEASE_BIN)
INSTALL_CONFIGURATION = $(if $(filter $(RELEASE_BIN),$(INSTALL_BIN)),release,debug)

.PHONY: all deps build build-release run run-replica test test-python-client verify-units install install-files bench instructions clean

all: build

## deps: install the Debian packages the build and the tests need, only when missing.
deps:
	@missing=""; \
	pkg-config --exists rdkafka 2>/dev/null || missing="$$missing librdkafka-dev"; \
	command -v kcat >/dev/null || missing="$$missing kcat"; \
	command -v socat >/dev/null || missing="$$missing socat"; \
	command -v curl >/dev/null || missing="$$missing curl"; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	python3 -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	command -v systemd-analyze >/dev/null && command -v systemd-socket-activate >/dev/null || missing="$$missing systemd"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build

build-release: deps
	$(SWIFT) build -c release

## run: start crossrecd on the embedded dev broker (socket, checkpoints under .run/).
run: build
	$(BIN)/crossrecd --config $(CONFIG)

## run-replica: a read replica of `make run`'s learner, in a second terminal (socket under .run/replica/).
run-replica: build
	@test -s .run/dev-broker.addr || { echo "run-replica: start the learner first (make run)" >&2; exit 1; }
	@mkdir -p .run/replica
	@printf 'kafka:\n  bootstrap: "%s"\nreplication:\n  mode: replica\n  topic: crossrec.models\npaths:\n  run_dir: %s\n' \
		"$$(cat .run/dev-broker.addr)" "$(CURDIR)/.run/replica" > .run/replica/crossrecd.yaml
	$(BIN)/crossrecd --config .run/replica/crossrecd.yaml

## test: every test target (Kafka tests start their own dev broker), then the unit check.
test: deps
	$(SWIFT) build --build-tests
	# One test at a time: many tests wait synchronously (processes, Kafka, sockets) on a
	# cooperative thread, and with 2 cores two of them in parallel starve the async tests of
	# every thread (seen as fresh-clone flakes). Serial costs ~30 s here (147 → 173 s).
	$(SWIFT) test --skip-build --no-parallel
	$(MAKE) --no-print-directory test-python-client
	$(MAKE) --no-print-directory verify-units

## test-python-client: install clients/python into a venv (as a user would, with pip), type-check
##   it with mypy --strict and run its tests against a daemon they start.
PY_CLIENT_VENV := .build/python-client-venv
test-python-client: build
	[ -x $(PY_CLIENT_VENV)/bin/python ] || python3 -m venv $(PY_CLIENT_VENV)
	$(PY_CLIENT_VENV)/bin/pip install -q --disable-pip-version-check --force-reinstall --no-deps ./clients/python
	$(PY_CLIENT_VENV)/bin/pip install -q --disable-pip-version-check mypy
	cd clients/python && ../../$(PY_CLIENT_VENV)/bin/mypy --strict src/crossrec_client
	cd /tmp && CROSSRECD=$(CURDIR)/$(BIN)/crossrecd $(CURDIR)/$(PY_CLIENT_VENV)/bin/python -m unittest discover -s $(CURDIR)/clients/python/tests -v

## verify-units: install into a temporary root: `systemd-analyze verify` (any warning fails), man
##   pages and shell completions in place.
verify-units: build
	@root=$$(mktemp -d); trap 'rm -rf "$$root"' EXIT; \
	$(MAKE) --no-print-directory install-files PREFIX=$$root/usr SYSCONFDIR=$$root/etc INSTALL_BIN=$(BIN) >/dev/null && \
	out=$$(systemd-analyze verify $$root/usr/lib/systemd/system/crossrecd.socket $$root/usr/lib/systemd/system/crossrecd.service 2>&1); \
	status=$$?; echo "$$out"; \
	if [ $$status -ne 0 ] || [ -n "$$out" ]; then echo "systemd-analyze verify: warnings or errors" >&2; exit 1; fi; \
	echo "systemd-analyze verify: crossrecd.service and crossrecd.socket clean"; \
	for tool in crossrecd crossrec; do \
		grep -q '^\.Dt' $$root/usr/share/man/man1/$$tool.1 && bash -n $$root/usr/share/bash-completion/completions/$$tool && \
		test -s $$root/usr/share/zsh/site-functions/_$$tool && test -s $$root/usr/share/fish/vendor_completions.d/$$tool.fish || \
		{ echo "install: man page or completions of $$tool missing or broken" >&2; exit 1; }; \
	done; \
	echo "install: man pages and bash/zsh/fish completions of crossrecd and crossrec"

## install: release binaries, units, sysusers snippet, default config (kept if present), docs,
##   man pages, bash/zsh/fish completions.
##   make install PREFIX=/usr DESTDIR=/tmp/pkg
install: build-release
	$(MAKE) --no-print-directory install-files

install-files:
	install -D -m 0755 $(INSTALL_BIN)/crossrecd $(DESTDIR)$(BINDIR)/crossrecd
	install -D -m 0755 $(INSTALL_BIN)/crossrec $(DESTDIR)$(BINDIR)/crossrec
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/crossrec
	for unit in crossrecd.service crossrecd.socket; do \
		sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' systemd/$$unit.in > $(DESTDIR)$(UNITDIR)/$$unit; \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$unit; \
	done
	install -m 0644 systemd/crossrec.sysusers $(DESTDIR)$(SYSUSERSDIR)/crossrec.conf
	install -m 0644 docs/OPERATIONS.md docs/PROTOCOL.md docs/CHECKPOINTS.md $(DESTDIR)$(DOCDIR)/
	install -D -m 0644 -t $(DESTDIR)$(DOCDIR)/contrib/grafana contrib/grafana/crossrec-dashboard.json
	install -D -m 0644 -t $(DESTDIR)$(DOCDIR)/contrib/prometheus contrib/prometheus/crossrec-alerts.yml contrib/prometheus/crossrec-alerts.test.yml
	# Man pages and shell completions, generated from the binaries' ArgumentParser commands.
	$(SWIFT) package --allow-writing-to-package-directory generate-manual --configuration $(INSTALL_CONFIGURATION) >/dev/null
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	for tool in crossrecd crossrec; do \
		install -m 0644 .build/plugins/GenerateManual/outputs/$$tool/$$tool.1 $(DESTDIR)$(MANDIR)/man1/ && \
		$(INSTALL_BIN)/$$tool --generate-completion-script bash > $(DESTDIR)$(BASHCOMPDIR)/$$tool && \
		$(INSTALL_BIN)/$$tool --generate-completion-script zsh > $(DESTDIR)$(ZSHCOMPDIR)/_$$tool && \
		$(INSTALL_BIN)/$$tool --generate-completion-script fish > $(DESTDIR)$(FISHCOMPDIR)/$$tool.fish || exit 1; \
	done
	[ -e $(DESTDIR)$(SYSCONFDIR)/crossrec/crossrecd.yaml ] || \
		install -m 0640 configs/crossrecd.yaml $(DESTDIR)$(SYSCONFDIR)/crossrec/crossrecd.yaml

## bench: release build, then the benchmarks recorded in docs/BENCHMARKS.md.
bench: build-release
	bench/run.sh

## instructions: the learner's instructions an event under callgrind (steady on a noisy VM).
instructions:
	bench/instructions.sh

clean:
	rm -rf .build .run
