# kapu: make run (the conformance suite on the bundled mock in headless
# Chromium), make test (every test), make bench (the benchmarks).
GO      ?= go
BIN     := bin/kapu
CHROMIUM ?= $(shell command -v chromium chromium-browser google-chrome 2>/dev/null | head -n1)

.PHONY: all build run test bench mutants deps chromium vet schema docs soak staging fmt clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/kapu

# Chromium comes from the distribution, never downloaded by kapu; its
# headless shell (the same Debian source) runs flows at less than half the
# CPU, and kapu prefers it for headless runs.
chromium:
	@if [ -z "$(CHROMIUM)" ] || ! command -v chromium-headless-shell >/dev/null; then \
		echo "installing Chromium from Debian (apt-get install -y chromium chromium-headless-shell)"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-headless-shell; \
	fi

# axe-core, pinned in package-lock.json, for the axe step; never committed.
node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

deps: chromium node_modules/axe-core/axe.min.js

run: build deps
	./$(BIN) run flows/

# vet also fails on an untidy go.mod, a stale generated file and run
# output tracked in git.
vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy -diff
	@$(GO) run ./cmd/kapu schema | cmp -s - flows/kapu.schema.json || { echo "flows/kapu.schema.json is stale: make schema"; exit 1; }
	@! git ls-files --error-unmatch kapu-results kapu-report >/dev/null 2>&1 || { echo "run output is tracked in git: git rm -r --cached kapu-results kapu-report"; exit 1; }

schema:
	$(GO) run ./cmd/kapu schema > flows/kapu.schema.json

# The README's tables of steps and assertions, from the flow package's tables.
docs: schema
	$(GO) run ./cmd/kapu help steps --markdown --write

test: deps vet
	$(GO) test -race -count=1 -timeout 45m ./...

# Timing goals are measured here, never asserted in tests. On a quiet
# machine; BENCHCOUNT=3 repeats each for a median (the suite's take ~10
# minutes a round).
BENCHCOUNT ?= 1
bench: build deps
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2000x ./mockidp
	$(GO) test -run '^$$' -bench . -benchmem ./qr ./flow
	$(GO) test -run '^$$' -bench FlowVsChromedp -benchtime 5x -count $(BENCHCOUNT) ./runner
	$(GO) test -run '^$$' -bench . -benchtime 1x -count $(BENCHCOUNT) -timeout 90m ./cmd/kapu

# The whole suite against the mock broken one requirement at a time:
# prints which flows caught which fault.
mutants: deps
	$(GO) test -count=1 -timeout 60m -run TestFaultMatrix ./cmd/kapu -matrix -v | grep -v '^\s' | grep -v '^=== '

# The interrupt test, 20 kills per signal instead of make test's 3.
# The whole suite against a target without the test API (a staging
# login): see README, "Against your own staging login". Takes minutes.
staging: build deps
	./scripts/staging.sh

soak: deps
	$(GO) test -count=1 -timeout 60m -run TestInterruptLeavesNoChromium ./cmd/kapu -trials 20

clean:
	rm -rf bin
