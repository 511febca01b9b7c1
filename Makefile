# Switchboard's two everyday commands are `make run` and `make test`.
GO ?= go
BIN := bin

.PHONY: all build run bench test vet fmt-check clean web typecheck chromium sip-tools kannel

all: build

## build: compile every binary under cmd/ into bin/, with the portal bundled in
build: web
	$(GO) build -o $(BIN)/ ./cmd/...

## run: the demo on embedded SQLite, data in ./switchboard-data
run: build
	$(BIN)/switchboard serve --demo

## bench: the quick benchmark, under a minute (docs/PERFORMANCE.md); the full
## one is $(BIN)/switchboard-bench with no flags
bench: build
	$(BIN)/switchboard-bench --quick --out bench-results/quick

## test: formatting, vet, and every test (real SQLite, real server)
test: fmt-check vet web typecheck chromium sip-tools kannel
	$(GO) test -race -count=1 -timeout 20m ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

clean:
	rm -rf $(BIN)

## web: the portal bundle in web/dist (npm fetches the packages at build time
## only; esbuild's Go API bundles them in go generate; the binary embeds it)
WEB_SRC := $(shell find web/src -type f 2>/dev/null) web/build/main.go web/tsconfig.json
web: web/dist/index.html

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SRC)
	$(GO) generate ./web

## typecheck: the portal's TypeScript (esbuild does not type-check)
typecheck: web/node_modules/.package-lock.json
	web/node_modules/.bin/tsc -p web --noEmit

## chromium: Debian's Chromium for the portal's browser tests, when missing
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y chromium || { apt-get update && apt-get install -y chromium; } || \
		if [ -n "$$CI" ]; then exit 1; else echo "chromium could not be installed: the browser tests will be skipped"; fi; \
	fi

## sip-tools: real SIP peers for the SIP tests, when missing: SIPp (Debian
## package sip-tester) and the baresip softphone (baresip-core)
sip-tools:
	@if ! command -v sipp >/dev/null || ! command -v baresip >/dev/null; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y sip-tester baresip-core || { apt-get update && apt-get install -y sip-tester baresip-core; } || \
		if [ -n "$$CI" ]; then exit 1; else echo "sipp and baresip could not be installed: the SIP tests will be skipped"; fi; \
	fi

## kannel: the real SMS gateway for sms/kannel's end-to-end test, when
## missing: bearerbox and smsbox (Debian package kannel) and the fakesmsc
## SMS center (kannel-extras)
kannel:
	@if [ ! -x /usr/sbin/bearerbox ] || [ ! -x /usr/lib/kannel/test/fakesmsc ]; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y kannel kannel-extras || { apt-get update && apt-get install -y kannel kannel-extras; } || \
		if [ -n "$$CI" ]; then exit 1; else echo "kannel could not be installed: the Kannel test will be skipped"; fi; \
	fi
