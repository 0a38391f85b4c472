# phonelock: password protection for FreeSWITCH phone terminals.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN     := bin/phonelock

.PHONY: build run test bench lint clean

build: ## build bin/phonelock
	@echo "==> building $(BIN) ($(VERSION))"
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/phonelock

run: build ## run the daemon on its defaults: ./phonelock.db, loopback listeners
	@echo "==> running phonelock serve (ESL 127.0.0.1:8084, HTTP 127.0.0.1:8085, db ./phonelock.db)"
	./$(BIN) serve

test: lint ## vet, formatting, then every test with the race detector
	@echo "==> go test -race ./..."
	$(GO) test -race -count=1 ./...

bench: ## benchmarks, with allocation figures
	@echo "==> go test -bench"
	$(GO) test -run '^$$' -bench . -benchmem ./...

lint: ## gofmt and go vet
	@echo "==> gofmt -l"
	@out="$$(gofmt -l .)"; \
		if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@echo "==> go vet ./..."
	$(GO) vet ./...

clean:
	rm -rf bin
