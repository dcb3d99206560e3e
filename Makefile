# The two commands of the README. Both install the system packages they need first.
.PHONY: run test deps test-deps

deps:
	@bash packaging/install-deps.sh build

test-deps:
	@bash packaging/install-deps.sh test

## Build and open Earmark (release build).
run: deps
	cargo run --release

## Run the whole test suite.
test: test-deps
	cargo test --no-fail-fast
