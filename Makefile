# wampedge — see README.md. `make test` is what CI runs.
GO       ?= go
FUZZTIME ?= 15s
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# Release builds leave out net/http's HTTP/2, which nothing here speaks
# (the uplink's WebSocket upgrade is HTTP/1.1): 400 KB on ARM.
TAGS     ?= nethttpomithttp2
# 32-bit ARM kernels use 4 KiB pages: segments aligned to that, not to the
# linker's 64 KiB, save 120 KB of padding.
ARM32_LDFLAGS := -R 4096
# Packages far from the routing path are compiled without inlining: mDNS
# (a packet now and then), the uplink's one HTTP upgrade, certificates
# parsed at TLS handshakes, the config and debug JSON. 150 KB less on
# ARM, and no routed event or call pays for it.
NOINLINE := github.com/miekg/dns github.com/grandcat/zeroconf encoding/json crypto/x509 encoding/asn1 net/http
GCFLAGS  := $(foreach p,$(NOINLINE),-gcflags=$(p)=-l)
GOFILES   = $(shell git ls-files '*.go' | grep -v '_gen.go$$')

# Boards (board/): the profiles, one "NAME GOOS=... GOARCH=..." line each.
BOARDS       = $(GO) run ./board/cmd/boards
# The linux/arm wampedge must fit the smallest boards' flash: 8 MiB.
SIZE_BUDGET ?= 8388608
# The time every file in a dist tarball carries: the last commit's, so
# that the same commit gives the same tarballs.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
# What runs under qemu-user as ARM test binaries.
QEMU_PKGS    = ./codec/... ./rawsocket/... ./edge/...

.PHONY: all build test deps vet check-generate unit arm qemu-deps cross size readme-sizes dist interop interop-deps bench bench-quick bench-compare bench-unit bench-deps fuzz fuzz-short generate clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -tags '$(TAGS)' $(GCFLAGS) -ldflags '$(LDFLAGS)' -o bin/ ./cmd/...

# test: static checks, generated code up to date, every test with -race,
# the unit tests again on ARM under qemu, every board's build and the
# size budget, then the tests in test/ (interoperability with real WAMP
# peers, mDNS discovery, the board builds under qemu). mcu-test: the C
# firmware client (serial/mcu/mcu.mk).
test: deps vet check-generate unit mcu-test fuzz-short arm size interop

# deps: the Go modules, and iproute2's ss, with which the fault tests see
# what the kernel still holds for a connection the router cut off.
deps:
	$(GO) mod download
	@command -v ss >/dev/null || { \
	  echo "installing Debian package: iproute2"; sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends iproute2; }

vet:
	$(GO) vet ./...
	cd test && $(GO) vet ./...
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -race -count=1 ./...

# arm: the unit tests of codec, rawsocket and edge as linux/arm (ARMv7)
# and linux/arm64 test binaries, run by Debian's qemu-user.
arm: qemu-deps
	GOARCH=arm GOARM=7 CGO_ENABLED=0 $(GO) test -count=1 -exec qemu-arm $(QEMU_PKGS)
	GOARCH=arm64 CGO_ENABLED=0 $(GO) test -count=1 -exec qemu-aarch64 $(QEMU_PKGS)

qemu-deps:
	@command -v qemu-arm >/dev/null && command -v qemu-aarch64 >/dev/null || { \
	  echo "installing Debian package: qemu-user"; sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends qemu-user; }

# cross: wampedge and wampcat for every board profile into dist/BOARD/:
# static (no cgo), stripped, -trimpath, each knowing its board; then the
# size table.
cross:
	@rm -rf dist && mkdir -p dist
	@boards=$$($(BOARDS)) || exit 1; echo "$$boards" | while read -r name env; do \
	  echo "dist/$$name: $$env"; \
	  ld='$(LDFLAGS)'; case "$$env " in *"GOARCH=arm "*) ld="$$ld $(ARM32_LDFLAGS)";; esac; \
	  env $$env CGO_ENABLED=0 $(GO) build -trimpath -tags '$(TAGS)' $(GCFLAGS) -ldflags "$$ld -X main.board=$$name" \
	    -o dist/$$name/ ./cmd/wampedge ./cmd/wampcat || exit 1; \
	done
	@$(BOARDS) sizes dist

# size: what takes the space in the linux/arm wampedge (the symbols of an
# unstripped build, summed per module and package), then whether it is
# within SIZE_BUDGET.
size: cross
	@tmp=$$(mktemp -d) && GOOS=linux GOARCH=arm GOARM=7 CGO_ENABLED=0 $(GO) build -trimpath -tags '$(TAGS)' $(GCFLAGS) -ldflags '$(ARM32_LDFLAGS)' -o $$tmp/wampedge ./cmd/wampedge && \
	  $(BOARDS) space $$tmp/wampedge; status=$$?; rm -rf $$tmp; exit $$status
	@$(MAKE) --no-print-directory readme-sizes
	@$(BOARDS) budget $(SIZE_BUDGET) dist

# readme-sizes: the size table in README.md, rewritten from the binaries
# in dist/ (make cross), with the Go release that built them.
readme-sizes:
	@{ echo '<!-- make size writes the table below -->'; echo '```'; $(GO) env GOVERSION; $(BOARDS) sizes dist; echo '```'; } >dist/sizes.md
	@awk -v table=dist/sizes.md '/^<!-- make size writes the table below -->$$/ { while ((getline l <table) > 0) print l; skip = 1; next } \
	  skip && /^<!-- end of the table make size writes -->$$/ { skip = 0 } !skip' README.md >dist/README.md && mv dist/README.md README.md
	@echo "README.md: size table updated"

# dist: per board a tarball of the binaries, the sample config and the
# systemd unit (plus what board/BOARD/ adds or replaces, such as
# OpenWrt's init script), reproducible; and SHA256SUMS of it all.
dist: cross
	@boards=$$($(BOARDS)) || exit 1; echo "$$boards" | while read -r name env; do \
	  pkg=wampedge-$(VERSION)-$$name; stage=dist/stage/$$pkg; mkdir -p $$stage && \
	  cp dist/$$name/wampedge dist/$$name/wampcat board/wampedge.json board/systemd/wampedge.service $$stage/ && \
	  if [ -d board/$$name ]; then cp board/$$name/* $$stage/; fi && \
	  tar --sort=name --owner=0 --group=0 --numeric-owner --mode=a+rX,go-w --mtime=@$(SOURCE_DATE_EPOCH) \
	    -C dist/stage -cf - $$pkg | gzip -9n >dist/$$pkg.tar.gz || exit 1; \
	done
	@rm -rf dist/stage
	@cd dist && sha256sum */wampedge */wampcat *.tar.gz >SHA256SUMS && ls -l *.tar.gz && echo "dist/SHA256SUMS written"

# interop: the tests in test/ — every peer × transport × serializer ×
# scenario (test/interop), mDNS discovery across network namespaces
# (test/discovery), the board builds under qemu (test/board) — installing
# what they need first; prints the interop matrix, pass or fail.
interop: interop-deps qemu-deps
	@cd test && INTEROP_MATRIX=$(CURDIR)/test/interop/matrix.txt $(GO) test -count=1 -timeout 20m ./... ; \
	  status=$$?; cat $(CURDIR)/test/interop/matrix.txt 2>/dev/null; exit $$status

interop-deps:
	./test/interop/install.sh

generate:
	$(GO) generate ./codec/...

# The committed msgp output must be what the pinned tool generates now.
check-generate:
	@tmp=$$(mktemp -d) && cp codec/options.go codec/flag.go $$tmp/ && \
	  (cd $$tmp && printf 'module x\n' >go.mod) && \
	  $(GO) tool msgp -file $$tmp/options.go -o $$tmp/options_gen.go -io=false -tests=false >/dev/null && \
	  sed -i 's/^package .*/package codec/' $$tmp/options_gen.go && \
	  if ! cmp -s $$tmp/options_gen.go codec/options_gen.go; then \
	    diff -u codec/options_gen.go $$tmp/options_gen.go | head -40; rm -rf $$tmp; \
	    echo "codec/options_gen.go is stale: run 'make generate' and commit it"; exit 1; fi; \
	  rm -rf $$tmp; echo "generated code up to date"

# bench: the unit benchmarks, then the harness (test/bench) that puts the
# wampedge release build beside nexus, Mosquitto and a frame relay, each
# in its own process on loopback; prints the table and writes
# test/bench/RESULTS.md. bench-quick: the harness alone, short runs.
# mcu-bench: the C firmware client's line bytes and CPU time.
bench: bench-unit mcu-bench bench-deps
	cd test && $(GO) run ./bench

bench-quick: bench-deps
	cd test && $(GO) run ./bench -quick

# bench-compare: exact-match routing against commit BASE, same run.
BASE ?= b6d5948
bench-compare:
	./test/bench/compare.sh $(BASE) 7

bench-unit:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

bench-deps:
	./test/bench/install.sh

# fuzz-short: every fuzz target briefly, as CI runs them: a count of
# inputs, not a duration, which races Go 1.26's fuzz coordinator into a
# spurious "context deadline exceeded" (golang/go#75804).
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=5000x

# fuzz: every fuzz target for FUZZTIME each; crashers land in testdata/fuzz.
# Then the C firmware client's libFuzzer target (mcu-fuzz).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	  done; done
	@$(MAKE) --no-print-directory mcu-fuzz FUZZTIME=$(FUZZTIME)

clean:
	rm -rf bin dist

include serial/mcu/mcu.mk
