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
	@mkdir -p -m 700 /tmp/earmark-xdg-$$(id -u)
	XDG_RUNTIME_DIR=$${XDG_RUNTIME_DIR:-/tmp/earmark-xdg-$$(id -u)} cargo test --no-fail-fast
	cargo test --manifest-path packaging/appimage-runtime/Cargo.toml --target-dir $${CARGO_TARGET_DIR:-target}
