//! Undoing a write-back: every file of a journal gets its original bytes back (rebuilt from the
//! written file and the journal's patch, checked against the original's hash), atomically and
//! with its original modification time, owner, group and permissions. A file written in place
//! (hard-linked) is restored in place, also from a write cut short. A file changed since the
//! write-back is refused and left as it is; a file already back to its original is left alone.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use serde::Serialize;

use super::Field;
use super::in_place;
use super::index::{fingerprint, record_rewrite};
use super::journal::{self, FileState, JournalEntry};
use super::plan::size_and_mtime;
use super::replace::{self, Owner, StageError, Sweeper};
use crate::error::Result;
use crate::jobs::{JobControl, Progress, ProgressTracker};
use crate::library::Library;

/// What an undo did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UndoReport {
    /// The journal undone (renamed `.undone.jsonl` once every file is back).
    pub journal: PathBuf,
    /// Files restored to their original bytes.
    pub restored: Vec<String>,
    /// Files that already held their original bytes.
    pub already: Vec<String>,
    /// Files not restored, with the reason.
    pub refused: Vec<(String, String)>,
    /// Restored files whose library row could not be updated.
    pub index_warnings: Vec<(String, String)>,
    /// The run was cancelled.
    pub cancelled: bool,
    /// Temporary copies a killed earlier run left beside the files, removed.
    pub removed_temporaries: Vec<String>,
}

/// Restores the files of `journal_path`, newest entry first, and updates `lib`'s rows.
pub fn undo(
    mut lib: Option<&mut Library>,
    journal_path: &Path,
    progress: &mut dyn FnMut(&Progress),
    control: &JobControl,
) -> Result<UndoReport> {
    let entries = journal::read(journal_path)?;
    let mut report = UndoReport {
        journal: journal_path.to_path_buf(),
        ..UndoReport::default()
    };
    let mut tracker = ProgressTracker::new(entries.len());
    let mut swept = Sweeper::new();
    for entry in entries.iter().rev() {
        if control.checkpoint().is_err() {
            report.cancelled = true;
            break;
        }
        report
            .removed_temporaries
            .extend(swept.folder_of(Path::new(&entry.path)));
        let outcome = restore(entry);
        tracker.finish_item(outcome.is_err());
        match outcome {
            Ok((state, restored)) => {
                if let Some(lib) = lib.as_deref_mut() {
                    let genre = entry
                        .fields
                        .iter()
                        .find(|c| c.field == Field::Genre)
                        .map(|c| c.current.as_deref());
                    if let Err(e) = record_rewrite(lib, &entry.path, &state, genre) {
                        report
                            .index_warnings
                            .push((entry.path.clone(), e.to_string()));
                    }
                }
                if restored {
                    report.restored.push(entry.path.clone());
                } else {
                    report.already.push(entry.path.clone());
                }
            }
            Err(reason) => report.refused.push((entry.path.clone(), reason)),
        }
        progress(&tracker.snapshot(Some(entry.path.clone())));
    }
    if report.refused.is_empty() && !report.cancelled {
        report.journal = journal::mark_undone(journal_path)?;
    }
    Ok(report)
}

/// Restores one file; returns its state afterwards and whether it had to be rewritten.
fn restore(entry: &JournalEntry) -> std::result::Result<(FileState, bool), String> {
    let path = Path::new(&entry.path);
    let md = match std::fs::metadata(path) {
        Ok(md) => md,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err("the file is gone; nothing to restore".into());
        }
        Err(e) => return Err(format!("cannot read the file: {e}")),
    };
    let target = std::fs::canonicalize(path).map_err(|e| format!("cannot resolve: {e}"))?;
    let current = std::fs::read(&target).map_err(|e| format!("cannot read: {e}"))?;
    let hash = fingerprint(&current);
    let (size, mtime_ns) = size_and_mtime(&md);
    if hash == entry.before.hash {
        let state = FileState {
            size,
            mtime_ns,
            hash,
        };
        return Ok((state, false));
    }
    let as_written = current.len() as u64 == entry.after.size && hash == entry.after.hash;
    let original = match &entry.overwritten {
        Some(kept) if !as_written => {
            // Written in place and cut short (or its undo was): the kept bytes rebuild it.
            kept.rebuild(&current)
                .ok()
                .filter(|o| fingerprint(o) == entry.before.hash)
        }
        _ if as_written => Some(entry.patch.restore(&current)?),
        _ => None,
    };
    let Some(original) = original else {
        return Err(
            "the file changed since the write-back (its content is not what was written; \
             a later write-back is undone first); not restored"
                .into(),
        );
    };
    if md.permissions().readonly() {
        return Err("the file is read-only; not restored (make it writable)".into());
    }
    if fingerprint(&original) != entry.before.hash {
        return Err(
            "the journal does not rebuild the original (damaged journal); not restored".into(),
        );
    }
    let mtime = u64::try_from(entry.before.mtime_ns)
        .map(|ns| UNIX_EPOCH + Duration::from_nanos(ns))
        .ok();
    // Written back with its owner: the journal's owner (older journals: the file's own).
    let owner = entry.owner.unwrap_or_else(|| Owner::of(&md));
    let staged = if entry.overwritten.is_some() || md.nlink() > 1 {
        None
    } else {
        match replace::stage(&target, &original, owner, mtime) {
            Ok(staged) => Some(staged),
            Err(StageError::OwnerNotKept(_)) => None,
            Err(e) => return Err(e.into()),
        }
    };
    let restored = match staged {
        Some(staged) => {
            let restored = staged.size_and_mtime;
            let now = std::fs::metadata(&target)
                .map_err(|_| "the file was removed meanwhile".to_owned())?;
            if size_and_mtime(&now) != (size, mtime_ns) {
                return Err("the file changed while being restored; not restored".into());
            }
            replace::commit(staged, &target)?;
            restored
        }
        None if entry.overwritten.is_some() => {
            let md = in_place::rewrite(&target, &current, &original, mtime, Some(owner))?;
            size_and_mtime(&md)
        }
        None => {
            // In place, a restore cut short could not be rebuilt: this journal did not keep
            // the bytes it would overwrite.
            return Err(format!(
                "it has {} hard link(s) or an owner that cannot be given to a new file, and \
                 the journal has no copy of the bytes an in-place restore would overwrite; \
                 not restored (copy the file to break its links, or undo as its owner)",
                md.nlink()
            ));
        }
    };
    Ok((
        FileState {
            size: restored.0,
            mtime_ns: restored.1,
            hash: entry.before.hash.clone(),
        },
        true,
    ))
}
