# proxylab — build, test, demo, bench.
SHELL := /bin/bash
GO      ?= go
BIN     := bin/proxylab
PKGS    := ./...
TESTTIMEOUT ?= 20m

.PHONY: all build test test-short demo bench fuzz lint tidy clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/proxylab

## test: every Ginkgo suite, with the race detector (timed worlds last, one at a time).
test:
	$(GO) vet $(PKGS)
	GO=$(GO) TESTTIMEOUT=$(TESTTIMEOUT) ./.ci/test

## test-short: the same without the race detector (quicker while editing).
test-short:
	$(GO) test -count=1 -timeout $(TESTTIMEOUT) $(PKGS)

## demo: play the shipped demo scenarios in-process on loopback.
demo: build
	./$(BIN) run scenarios/demo --report demo-report

## bench: the standard benchmark set (not part of test): Go benchmarks, then
## `proxylab bench` with every installed peer (the others are skipped with how
## to install them), 10k idle connections, an HTML report and benchstat lines.
BENCH_PEERS ?= nginx,haproxy,caddy,squid,tinyproxy
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./proxy/... ./loadgen/...
	./$(BIN) bench --duration 5s --peer $(BENCH_PEERS) --idle-conns 10000 --report bench-report --benchfmt bench-report/bench.txt

## fuzz: every fuzz target for a bounded time each.
FUZZTIME ?= 20s
fuzz:
	./.ci/fuzz $(FUZZTIME)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

tidy:
	$(GO) mod tidy

clean:
	rm -rf bin demo-report .test.log
