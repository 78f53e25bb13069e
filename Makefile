# lab — run `make help` for the targets.
SHELL := /bin/bash
GO ?= go
BIN := bin/lab
COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X github.com/backstage-lab/lab/provision.Version=$(COMMIT)
export TESTCONTAINERS_RYUK_DISABLED ?= true

.PHONY: help build install setup test test-unit test-e2e verify-labs bench lint fmt vet tidy-check clean clean-docker

help: ## show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ## build bin/lab
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/lab

install: ## install lab into $GOBIN
	CGO_ENABLED=0 $(GO) install -trimpath -ldflags "$(LDFLAGS)" ./cmd/lab

setup: ## prepare this machine (root): Docker, dockerd, images (stand-ins where no registry answers)
	bash hack/setup-host.sh

test: build vet test-unit test-e2e verify-labs ## everything CI runs (needs Docker and the images: make setup)

test-unit: ## unit tests (no Docker)
	$(GO) test -short -race -count=1 ./...

test-e2e: ## end-to-end tests against real Backstage + PostgreSQL in Docker
	$(GO) test -count=1 -timeout 30m -run 'TestE2E|TestLive|TestScript' ./...

verify-labs: build ## every lab: checks fail on the starting state, pass on the solution
	./$(BIN) verify --all --progress plain

bench: build ## cold image build, warm start vs bare docker run, memory, check latency
	bash hack/bench.sh

vet: ## go vet + gofmt check
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

tidy-check: ## fail if go mod tidy changes go.mod/go.sum
	$(GO) mod tidy && git diff --exit-code go.mod go.sum

clean: ## remove build output
	rm -rf bin

clean-docker: ## remove every container, network and volume lab made
	docker ps -aq --filter label=dev.backstage-lab.managed=true | xargs -r docker rm -fv
	docker network ls -q --filter label=dev.backstage-lab.managed=true | xargs -r docker network rm
	docker volume ls -q --filter label=dev.backstage-lab.managed=true | xargs -r docker volume rm
