//! Undo journals: one JSON-lines file per write-back run, `writeback/<UTC time>.jsonl` in the
//! data directory, one line per written file, each appended and synced *before* the file is
//! replaced. A line holds the file's state before and after (size, modification time, content
//! hash), the field values it had and got, and the [`UndoPatch`] that restores its original
//! bytes, with the file's owner, group and permissions (and, for a file written in place, the
//! original bytes the write covered). A journal whose files were all restored is renamed
//! `<UTC time>.undone.jsonl`.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::formats::TagFormat;
use super::in_place::Overwritten;
use super::patch::UndoPatch;
use super::plan::FieldChange;
use super::replace::Owner;
use crate::error::{Error, Result};

/// The journal format this build writes.
pub const JOURNAL_VERSION: u32 = 1;
/// Folder of the journals inside the data directory.
pub const JOURNAL_FOLDER: &str = "writeback";
const EXTENSION: &str = ".jsonl";
const UNDONE_EXTENSION: &str = ".undone.jsonl";

/// A file's identity at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileState {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, ns since the Unix epoch.
    pub mtime_ns: i64,
    /// Hex xxh3-128 of the content (the library's fingerprint).
    pub hash: String,
}

/// One written file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Journal format.
    pub version: u32,
    /// The file.
    pub path: String,
    /// Its format.
    pub format: TagFormat,
    /// Before the write.
    pub before: FileState,
    /// After the write.
    pub after: FileState,
    /// The fields written: value before and after.
    pub fields: Vec<FieldChange>,
    /// What restores the original bytes.
    pub patch: UndoPatch,
    /// The original's owner, group and permissions (journals before Earmark kept them lack it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    /// For a file written in place (it has other hard links, or its owner could not be given
    /// to a new file): the original bytes the write covered, which rebuild the original even
    /// from a write cut short.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overwritten: Option<Overwritten>,
}

/// The default folder of the journals: `writeback/` in Earmark's data directory.
pub fn default_dir() -> Result<PathBuf> {
    crate::config::data_dir()
        .map(|d| d.join(JOURNAL_FOLDER))
        .ok_or_else(|| Error::InvalidInput("no data directory for the undo journals".into()))
}

/// `YYYY-MM-DDTHH-MM-SS.mmmZ` for milliseconds since the Unix epoch (UTC, file-name safe).
pub fn timestamp(ms: i64) -> String {
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (year, month, day) = crate::calendar::civil_from_days(days);
    let s = ms_of_day / 1000;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}-{:02}-{:02}.{:03}Z",
        s / 3600,
        s / 60 % 60,
        s % 60,
        ms_of_day % 1000
    )
}

/// An open journal being written.
pub struct JournalWriter {
    path: PathBuf,
    file: File,
}

impl JournalWriter {
    /// Creates a new journal in `dir`, named by the current time (made unique if needed).
    pub fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let stamp = timestamp(crate::library::db::now_ms());
        for n in 0..1000 {
            let name = if n == 0 {
                format!("{stamp}{EXTENSION}")
            } else {
                format!("{stamp}-{n}{EXTENSION}")
            };
            let path = dir.join(name);
            match OpenOptions::new().append(true).create_new(true).open(&path) {
                Ok(file) => return Ok(JournalWriter { path, file }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        Err(Error::InvalidInput(format!(
            "cannot name a new journal in {}",
            dir.display()
        )))
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry and syncs it to disk.
    pub fn append(&mut self, entry: &JournalEntry) -> Result<()> {
        let mut line = serde_json::to_vec(entry)
            .map_err(|e| Error::InvalidInput(format!("journal entry: {e}")))?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| Error::io(&self.path, e))
    }
}

/// Reads every entry of a journal; a damaged line is an error naming it.
pub fn read(path: &Path) -> Result<Vec<JournalEntry>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let lines = BufReader::new(file)
        .lines()
        .collect::<std::io::Result<Vec<String>>>()
        .map_err(|e| Error::io(path, e))?;
    let last = lines.iter().rposition(|l| !l.trim().is_empty());
    let mut out = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let entry: JournalEntry = match serde_json::from_str(line) {
            Ok(entry) => entry,
            // A crash while appending leaves a partial last line; its file was never replaced
            // (the line is synced before the rename), so there is nothing to undo for it.
            Err(e) if Some(n) == last && e.is_eof() => continue,
            Err(e) => {
                return Err(Error::InvalidInput(format!(
                    "{} line {}: {e}",
                    path.display(),
                    n + 1
                )));
            }
        };
        if entry.version > JOURNAL_VERSION {
            return Err(Error::InvalidInput(format!(
                "{} was written by a newer Earmark (journal version {})",
                path.display(),
                entry.version
            )));
        }
        out.push(entry);
    }
    Ok(out)
}

/// A journal on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalInfo {
    /// Its path.
    pub path: PathBuf,
    /// Whether all its files were restored already.
    pub undone: bool,
}

/// The journals in `dir`, oldest first (names sort by time).
pub fn list(dir: &Path) -> Result<Vec<JournalInfo>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(EXTENSION) {
            out.push(JournalInfo {
                undone: name.ends_with(UNDONE_EXTENSION),
                path,
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// The newest journal of `dir` not undone yet.
pub fn last_pending(dir: &Path) -> Result<Option<PathBuf>> {
    Ok(list(dir)?
        .into_iter()
        .rev()
        .find(|j| !j.undone)
        .map(|j| j.path))
}

/// Renames a journal whose files are all restored to `<name>.undone.jsonl`; returns the path.
pub fn mark_undone(path: &Path) -> Result<PathBuf> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.ends_with(UNDONE_EXTENSION) {
        return Ok(path.to_path_buf());
    }
    let stem = name.strip_suffix(EXTENSION).unwrap_or(&name);
    let to = path.with_file_name(format!("{stem}{UNDONE_EXTENSION}"));
    std::fs::rename(path, &to).map_err(|e| Error::io(path, e))?;
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_match_known_dates() {
        // Reference values from `date -u -d @SECONDS`.
        assert_eq!(timestamp(0), "1970-01-01T00-00-00.000Z");
        assert_eq!(timestamp(951_782_400_000), "2000-02-29T00-00-00.000Z");
        assert_eq!(timestamp(1_700_000_000_123), "2023-11-14T22-13-20.123Z");
        assert_eq!(timestamp(4_107_542_399_999), "2100-02-28T23-59-59.999Z");
        assert_eq!(timestamp(-1000), "1969-12-31T23-59-59.000Z");
    }

    #[test]
    fn journals_list_newest_pending_and_mark_undone() {
        let dir = tempfile::tempdir().unwrap();
        assert!(last_pending(dir.path()).unwrap().is_none());
        for name in [
            "2026-01-01T00-00-00.000Z.jsonl",
            "2026-02-01T00-00-00.000Z.jsonl",
        ] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let last = last_pending(dir.path()).unwrap().unwrap();
        assert!(last.ends_with("2026-02-01T00-00-00.000Z.jsonl"));
        let undone = mark_undone(&last).unwrap();
        assert!(undone.ends_with("2026-02-01T00-00-00.000Z.undone.jsonl"));
        let next = last_pending(dir.path()).unwrap().unwrap();
        assert!(next.ends_with("2026-01-01T00-00-00.000Z.jsonl"));
        assert_eq!(list(dir.path()).unwrap().len(), 2);
    }

    #[test]
    fn a_partial_last_line_is_skipped_and_damage_elsewhere_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let state = |size, hash: &str| FileState {
            size,
            mtime_ns: 1,
            hash: hash.into(),
        };
        let entry = JournalEntry {
            version: JOURNAL_VERSION,
            path: "/music/a.flac".into(),
            format: TagFormat::Flac,
            before: state(10, "00"),
            after: state(12, "11"),
            fields: Vec::new(),
            patch: UndoPatch::between(b"0123456789", b"0123xx456789"),
            owner: None,
            overwritten: None,
        };
        let mut w = JournalWriter::create(dir.path()).unwrap();
        w.append(&entry).unwrap();
        let path = w.path().to_path_buf();
        drop(w);
        let whole = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{whole}{{\"version\":1,\"path\":\"/mus")).unwrap();
        assert_eq!(read(&path).unwrap(), vec![entry]);
        std::fs::write(&path, format!("{{\"version\":1}}\n{whole}")).unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }
}
