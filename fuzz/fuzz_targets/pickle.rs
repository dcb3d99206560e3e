//! cargo-fuzz target `pickle`: see `tests/common/fuzz_targets.rs`.
#![no_main]

#[path = "../../tests/common/fuzz_targets.rs"]
mod fuzz_targets;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzz_targets::pickle(data);
});
