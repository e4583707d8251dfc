# wampedge — see README.md. `make test` is what CI runs.
GO       ?= go
FUZZTIME ?= 15s
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
GOFILES   = $(shell git ls-files '*.go' | grep -v '_gen.go$$')

.PHONY: all build test deps vet check-generate unit interop interop-deps bench fuzz generate clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ ./cmd/...

# test: static checks, generated code up to date, every test with -race,
# then the interoperability matrix against real WAMP peers.
test: deps vet check-generate unit interop

deps:
	$(GO) mod download

vet:
	$(GO) vet ./...
	cd test && $(GO) vet ./...
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -race -count=1 ./...

# interop: the tests in test/ — every peer × transport × serializer ×
# scenario (test/interop), mDNS discovery across network namespaces
# (test/discovery) — installing what they need first; prints the interop
# matrix, pass or fail.
interop: interop-deps
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

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

# fuzz: every fuzz target for FUZZTIME each; crashers land in testdata/fuzz.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	  done; done

clean:
	rm -rf bin dist
