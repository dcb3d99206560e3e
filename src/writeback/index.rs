//! Keeping the library index in step with files write-back rewrote.
//!
//! The index recognises an unchanged file by path, size and modification time, and a changed one
//! by its content fingerprint (xxh3-128 of all bytes), which a tag edit changes. Since the
//! writer knows exactly which bytes it wrote and that only the tag changed, it records the new
//! size, time and fingerprint itself: the next scan sees the file as unchanged and keeps its
//! analysis. (A fingerprint of the audio alone would need a parser per container in the scan's
//! hot path and would re-fingerprint every existing library; recording the write is exact and
//! costs nothing.) The stored genre follows the file's new genre.

use super::journal::FileState;
use crate::error::Result;
use crate::library::Library;
use crate::library::rewrites::Rewritten;

/// Records that the file at `path` now has `state`; `genre` (when given) is its new genre
/// column. Returns whether the library knows the file.
pub fn record_rewrite(
    lib: &Library,
    path: &str,
    state: &FileState,
    genre: Option<Option<&str>>,
) -> Result<bool> {
    let rewritten = Rewritten {
        size: state.size,
        mtime_ns: state.mtime_ns,
        fingerprint: &state.hash,
    };
    lib.record_rewrite(path, rewritten, genre)
}

/// Hex xxh3-128 of `bytes`, the same value the library's fingerprint of that content has.
pub fn fingerprint(bytes: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_equal_the_scans_streamed_hash() {
        let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let streamed = crate::library::model_id::hash_reader(&bytes[..]).unwrap();
        assert_eq!(fingerprint(&bytes), streamed);
    }
}
