# Switchboard's two everyday commands are `make run` and `make test`.
GO ?= go
BIN := bin

.PHONY: all build run test vet fmt-check clean

all: build

## build: compile every binary under cmd/ into bin/
build:
	$(GO) build -o $(BIN)/ ./cmd/...

## run: the demo on embedded SQLite, data in ./switchboard-data
run: build
	$(BIN)/switchboard serve --demo

## test: formatting, vet, and every test (real SQLite, real server)
test: fmt-check vet
	$(GO) test -race -count=1 -timeout 20m ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

clean:
	rm -rf $(BIN)
