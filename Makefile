# Coterie — every entry point a newcomer or CI needs. `make sandbox` and `make test` are the quick
# start; both install what is missing first (pinned Node 24 from the npm registry, then packages).
SHELL := /bin/bash
NODE_BIN := $(shell tools/ensure-node.sh)
ifeq ($(NODE_BIN),)
$(error could not provide Node.js 24; see tools/ensure-node.sh)
endif
export PATH := $(NODE_BIN):$(PATH)
# Native addons build against the headers of the Node that runs them, not the system's.
export npm_config_nodedir := $(abspath $(NODE_BIN)/..)
# isolated-vm requires this flag on Node >= 20.
export NODE_OPTIONS := --no-node-snapshot $(NODE_OPTIONS)

TEST_CONCURRENCY ?= 2
# Test runs go through tools/with-temp-dir.sh: their temporary files go to one directory per run,
# removed when the run passes (kept, and named, when it fails).
UNIT_TESTS := $(shell find test/unit test/sim -name '*.test.ts' 2>/dev/null | sort)
E2E_TESTS := $(shell find test/e2e -name '*.test.ts' 2>/dev/null | sort)
# Browser tests run Debian's Chromium (tools/ensure-chromium.sh installs it as root, else they skip and say why).
BROWSER_TESTS := $(shell find test/browser -name '*.test.ts' 2>/dev/null | sort)

.PHONY: all install sandbox test typecheck lint fmt unit e2e browser bench bench-quick clean

all: test

# `npm install`, not `npm ci`: npm 11.19's `npm ci` refuses the lock file it wrote itself when
# packages have platform-specific optional dependencies (esbuild, biome, cbor-extract). `npm install`
# still installs exactly the locked versions and checks their integrity hashes.
node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

install: node_modules/.installed

sandbox: install
	node src/cli/main.ts sandbox $(ARGS)

typecheck: install
	npx tsc --noEmit -p tsconfig.json

lint: install
	npx biome check .

fmt: install
	npx biome check --write .

unit: install
	tools/with-temp-dir.sh node --test --test-concurrency=$(TEST_CONCURRENCY) $(UNIT_TESTS)

e2e: install
	tools/with-temp-dir.sh node --test --test-concurrency=1 $(E2E_TESTS)

browser: install
	tools/with-temp-dir.sh node --test --test-concurrency=1 $(BROWSER_TESTS)

test: typecheck lint
	tools/with-temp-dir.sh node --test --test-concurrency=$(TEST_CONCURRENCY) $(UNIT_TESTS) $(E2E_TESTS) $(BROWSER_TESTS)

bench: install
	node bench/run.ts

bench-quick: install
	node bench/run.ts --quick

clean:
	rm -rf node_modules tools/node/node_modules workspace out
