# airlock Makefile. `make demo` runs the main job end to end on embedded
# defaults; `make test` installs what it needs and runs every test.
export GOTOOLCHAIN := local
export CGO_ENABLED ?= 1
GO      ?= go
BIN     := bin/airlock
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PUBLIC_GOOD_ROOT := testdata/tuf/public-good-2026-08-21/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json

.PHONY: all build test deps softhsm strace demo bench fuzz conformance conformance-trustdb lint interop clean

all: build

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/airlock

# deps installs what the tests need on a machine that has only Go and apt:
# softhsm2 (tokens), opensc (pkcs11-tool), strace (TestVerifyUsesNoNetwork
# sees every socket airlock opens), openssl (encrypted PKCS#8 keys in the
# testscripts; scripts/interop.sh), in one apt-get run; then the Go modules.
APT_NEEDS := $(shell command -v softhsm2-util >/dev/null 2>&1 || echo softhsm2; \
	command -v pkcs11-tool >/dev/null 2>&1 || echo opensc; \
	command -v strace >/dev/null 2>&1 || echo strace; \
	command -v openssl >/dev/null 2>&1 || echo openssl)

deps:
	@if [ -n "$(strip $(APT_NEEDS))" ]; then \
	  echo "installing $(strip $(APT_NEEDS)) (apt-get)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_NEEDS) >/dev/null; fi
	$(GO) mod download

softhsm strace: deps

# REQUIRE_ALL=1: every real part the tests use (SoftHSM2, pkcs11-tool,
# openssl, strace, cgo, /dev/ptmx, /dev/full) must be there; a missing one
# fails the run. `make test REQUIRE_ALL=` is a developer's explicit opt-out
# (missing parts then skip, and say so).
REQUIRE_ALL ?= 1

# test runs everything CI checks (see docs/testing.md): vet; the unit tests
# and testscripts once, under the race detector (every package with tests
# has parallel work: bundle, hsm, cache, trust, cmd/airlock; the shipped,
# race-free binary is what conformance, interop and the no-network test
# run); a cgo-free build; the conformance suite (trust from -t and from the
# database); interop with stock cosign.
test: deps build
	$(GO) vet ./...
	AIRLOCK_REQUIRE_SOFTHSM=$(REQUIRE_ALL) AIRLOCK_REQUIRE_ALL=$(REQUIRE_ALL) $(GO) test -race -count=1 -timeout 40m ./...
	CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/airlock
	$(MAKE) --no-print-directory conformance conformance-trustdb interop

conformance: build
	PATH=$(CURDIR)/bin:$$PATH testdata/conformance/run-offline.sh -E 1 -t $(PUBLIC_GOOD_ROOT) -- scripts/conformance-client

demo: softhsm build
	./scripts/demo.sh

# conformance with trust from the database (trust init + update --at), no -t.
conformance-trustdb: build
	./scripts/conformance-trustdb.sh

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz:
	./scripts/fuzz.sh

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.7.0 ./...

# interop builds stock cosign v3 from the Go module proxy (once, cached in
# ~/.cache/airlock-interop like a module) and checks that each side verifies
# what the other signs. Part of `make test`.
interop: build
	./scripts/interop.sh

clean:
	rm -rf bin
