//! cargo-fuzz target `decode`: see `tests/common/fuzz_targets.rs`.
#![no_main]

#[path = "../../tests/common/fuzz_targets.rs"]
mod fuzz_targets;

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// One scratch folder per fuzzing process.
fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a scratch folder"))
        .path()
}

fuzz_target!(|data: &[u8]| {
    fuzz_targets::decode_any(data, scratch());
});
