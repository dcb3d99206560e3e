//! Write-back bookkeeping: recording in the index what a tag rewrite did to a file.
//!
//! The index recognises an unchanged file by path, size and modification time, and a changed one
//! by its content fingerprint, which a tag edit changes. The writer knows exactly which bytes it
//! wrote and that only the tags changed, so it records the new size, time and fingerprint here:
//! the next scan sees the file as unchanged and keeps its analysis. The stored genre follows the
//! file's new genre.

use rusqlite::params;

use super::Library;
use super::db::sql;
use crate::error::Result;

/// A file's state on disk right after a rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewritten<'a> {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Content fingerprint (hex xxh3-128 of every byte), as a scan computes it.
    pub fingerprint: &'a str,
}

impl Library {
    /// Records that the file stored at `path` is now `state`; `genre` (when given) becomes its
    /// genre column (`Some(None)` clears it). Returns whether the library knows the file.
    pub fn record_rewrite(
        &self,
        path: &str,
        state: Rewritten<'_>,
        genre: Option<Option<&str>>,
    ) -> Result<bool> {
        let what = "recording a rewritten file";
        let n = self
            .conn
            .execute(
                "UPDATE files SET size = ?2, mtime_ns = ?3, fingerprint = ?4 WHERE path = ?1",
                params![path, state.size as i64, state.mtime_ns, state.fingerprint],
            )
            .map_err(sql(what))?;
        if let Some(genre) = genre {
            self.conn
                .execute(
                    "UPDATE files SET genre = ?2 WHERE path = ?1",
                    params![path, genre],
                )
                .map_err(sql(what))?;
        }
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_rewrite_makes_the_file_look_unchanged_and_sets_its_genre() {
        let lib = Library::in_memory().unwrap();
        let root = lib.ensure_root("/lib").unwrap();
        let id = lib
            .insert_pending(root, "/lib/a.wav", 10, 5, "old")
            .unwrap();
        let state = Rewritten {
            size: 12,
            mtime_ns: 7,
            fingerprint: "new",
        };
        assert!(lib.record_rewrite("/lib/a.wav", state, None).unwrap());
        assert_eq!(lib.fingerprint_of(id).unwrap().as_deref(), Some("new"));
        let known = lib.known_files(None).unwrap();
        assert_eq!((known[0].size, known[0].mtime_ns), (12, 7));
        assert!(!lib.record_rewrite("/lib/missing.wav", state, None).unwrap());

        assert!(
            lib.record_rewrite("/lib/a.wav", state, Some(Some("Jazz")))
                .unwrap()
        );
        let genre = |lib: &Library| lib.export_rows().unwrap()[0].genre.clone();
        assert_eq!(genre(&lib).as_deref(), Some("Jazz"));
        assert!(lib.record_rewrite("/lib/a.wav", state, Some(None)).unwrap());
        assert_eq!(genre(&lib), None);
    }
}
