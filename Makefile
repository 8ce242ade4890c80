# crossrec — the two commands: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= configs/dev.yaml
APT_PACKAGES := librdkafka-dev kcat socat
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN := .build/debug
RELEASE_BIN := .build/release
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all deps build build-release run test bench clean

all: build

## deps: install the Debian packages the build and the tests need, only when missing.
deps:
	@missing=""; \
	pkg-config --exists rdkafka 2>/dev/null || missing="$$missing librdkafka-dev"; \
	command -v kcat >/dev/null || missing="$$missing kcat"; \
	command -v socat >/dev/null || missing="$$missing socat"; \
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

## test: every test target; Kafka tests start their own dev broker.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

## bench: release build, then the benchmarks recorded in docs/BENCHMARKS.md.
bench: build-release
	bench/run.sh

clean:
	rm -rf .build .run
