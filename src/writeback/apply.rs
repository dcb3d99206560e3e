//! Carrying out a plan: each file is rewritten atomically — the new bytes go to a temporary
//! file in the same folder, keep the original's owner, group and permissions, are synced, and
//! are renamed over the original — and the undo journal's line for it is synced *before* the
//! rename. A file with other hard links, or whose owner may not be given to a new file, is
//! rewritten in place instead, the original bytes it overwrites journalled first (see
//! [`in_place`]). A WAV or AIFF file is written only if every chunk besides its tag chunks
//! (the audio included) comes out byte for byte as it was (see [`super::iff`]). Temporaries a killed earlier run left in a folder are removed when the run
//! first comes to it. A file that cannot be written (read-only, gone, changed since the plan,
//! not taggable) is reported with its reason and the others go on.

use std::io::Cursor;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::formats::FileTags;
use super::in_place::{self, Overwritten};
use super::index::{fingerprint, record_rewrite};
use super::journal::{FileState, JOURNAL_VERSION, JournalEntry, JournalWriter};
use super::patch::UndoPatch;
use super::plan::{FilePlan, Plan, size_and_mtime};
use super::replace::{self, Owner, StageError, Sweeper};
use super::{Field, WritebackOptions};
use crate::error::Result;
use crate::jobs::{JobControl, Progress, ProgressTracker};
use crate::library::Library;

/// What applying a plan did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApplyReport {
    /// Files written.
    pub written: Vec<String>,
    /// Planned files with nothing to write.
    pub unchanged: usize,
    /// Files not written, with the reason.
    pub failed: Vec<(String, String)>,
    /// Written files whose library row could not be updated (the next scan re-analyses them).
    pub index_warnings: Vec<(String, String)>,
    /// The undo journal (none when nothing was written).
    pub journal: Option<PathBuf>,
    /// The run was cancelled; the files before it were written.
    pub cancelled: bool,
    /// Temporary copies a killed earlier run left beside the files, removed.
    pub removed_temporaries: Vec<String>,
}

/// Writes the plan's files. `journal_dir` receives the undo journal.
pub fn apply(
    lib: &mut Library,
    plan: &Plan,
    opts: &WritebackOptions,
    journal_dir: &Path,
    progress: &mut dyn FnMut(&Progress),
    control: &JobControl,
) -> Result<ApplyReport> {
    let mut report = ApplyReport::default();
    let mut journal: Option<JournalWriter> = None;
    let to_write: Vec<&FilePlan> = plan.files.iter().filter(|f| f.needs_write()).collect();
    report.unchanged = plan.files.len() - to_write.len();
    let mut tracker = ProgressTracker::new(to_write.len());
    let mut swept = Sweeper::new();
    for file in to_write {
        if control.checkpoint().is_err() {
            report.cancelled = true;
            break;
        }
        report
            .removed_temporaries
            .extend(swept.folder_of(Path::new(&file.path)));
        let result = write_file(file, opts, journal_dir, &mut journal);
        tracker.finish_item(result.is_err());
        match result {
            Ok(after) => {
                let genre = file
                    .changes
                    .iter()
                    .find(|c| c.field == Field::Genre && c.action.writes())
                    .map(|c| c.new.as_deref());
                if let Err(e) = record_rewrite(lib, &file.path, &after, genre) {
                    report
                        .index_warnings
                        .push((file.path.clone(), e.to_string()));
                }
                report.written.push(file.path.clone());
            }
            Err(reason) => report.failed.push((file.path.clone(), reason)),
        }
        progress(&tracker.snapshot(Some(file.path.clone())));
    }
    report.journal = journal.map(|j| j.path().to_path_buf());
    Ok(report)
}

type Outcome<T> = std::result::Result<T, String>;

/// The file's present state on disk, or why it cannot be written.
fn writable_state(path: &Path) -> Outcome<std::fs::Metadata> {
    let md = match std::fs::metadata(path) {
        Ok(md) => md,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err("the file is gone (removed after the plan); nothing written".into());
        }
        Err(e) => return Err(format!("cannot read the file: {e}")),
    };
    if !md.is_file() {
        return Err("not a regular file; nothing written".into());
    }
    if md.permissions().readonly() {
        return Err("the file is read-only; nothing written (make it writable to tag it)".into());
    }
    Ok(md)
}

/// Rewrites one file; returns its state after the write.
fn write_file(
    file: &FilePlan,
    opts: &WritebackOptions,
    journal_dir: &Path,
    journal: &mut Option<JournalWriter>,
) -> Outcome<FileState> {
    let link = Path::new(&file.path);
    let md = writable_state(link)?;
    if size_and_mtime(&md) != (file.size, file.mtime_ns) {
        return Err("the file changed after the plan; plan again".into());
    }
    // A library path may be a symbolic link: the file it points to is the one rewritten.
    let target = std::fs::canonicalize(link).map_err(|e| format!("cannot resolve: {e}"))?;
    let original = std::fs::read(&target).map_err(|e| format!("cannot read: {e}"))?;
    let mut tags = FileTags::read(&mut Cursor::new(&original), file.format)?;
    for change in &file.changes {
        if tags.get(&change.field) != change.current {
            return Err(format!(
                "its {} changed after the plan; plan again",
                change.field
            ));
        }
    }
    let writes: Vec<_> = file.changes.iter().filter(|c| c.action.writes()).collect();
    for change in &writes {
        tags.set(
            &change.field,
            change.new.as_deref().unwrap_or(""),
            opts.id3v23,
        );
    }
    let written = tags.write_into(original.clone(), opts.id3v23)?;
    let check = FileTags::read(&mut Cursor::new(&written), file.format)
        .map_err(|e| format!("the written tag does not read back: {e}"))?;
    for change in &writes {
        if check.get(&change.field) != change.new {
            return Err(format!(
                "the written {} does not read back as intended; nothing written",
                change.field
            ));
        }
    }
    let patch = if file.format.is_chunked() {
        // Only the tag chunks may differ: the audio and every other chunk stay as they were,
        // and where each went lines the original up with the written file for the undo.
        let segments = super::iff::untouched_segments(&original, &written)
            .map_err(|e| format!("{e}; nothing written"))?;
        UndoPatch::with_segments(&original, &written, segments)
    } else {
        UndoPatch::between(&original, &written)
    };
    if patch.kept_bytes() > opts.max_undo_bytes {
        return Err(format!(
            "undoing this write would need {} MB of the original kept (the limit is {} MB); \
             nothing written",
            patch.kept_bytes() >> 20,
            opts.max_undo_bytes >> 20
        ));
    }
    // A rename would split a hard-linked file from its other names, and give the file to
    // whoever runs Earmark when only the owner or an administrator may give it back: such a
    // file is rewritten in place instead, its overwritten bytes journalled first.
    let links = md.nlink();
    let staged = if links > 1 {
        None
    } else {
        match replace::stage(&target, &written, Owner::of(&md), None) {
            Ok(staged) => Some(staged),
            Err(StageError::OwnerNotKept(_)) => None,
            Err(e) => return Err(e.into()),
        }
    };
    let overwritten = staged
        .is_none()
        .then(|| Overwritten::between(&original, &written));
    if let Some(o) = &overwritten
        && o.kept_bytes() > opts.max_undo_bytes
    {
        let why = if links > 1 {
            format!("it has {links} hard links")
        } else {
            "its owner cannot be given to a new file".to_owned()
        };
        return Err(format!(
            "{why}, so it would be written in place, and undoing that would need {} MB of the \
             original kept (the limit is {} MB); nothing written",
            o.kept_bytes() >> 20,
            opts.max_undo_bytes >> 20
        ));
    }
    let when = SystemTime::now();
    let (size, mtime_ns) = match &staged {
        Some(s) => s.size_and_mtime,
        None => (written.len() as u64, nanos(when)),
    };
    let after = FileState {
        size,
        mtime_ns,
        hash: fingerprint(&written),
    };
    let entry = JournalEntry {
        version: JOURNAL_VERSION,
        path: file.path.clone(),
        format: file.format,
        before: FileState {
            size: file.size,
            mtime_ns: file.mtime_ns,
            hash: fingerprint(&original),
        },
        after: after.clone(),
        fields: writes.into_iter().cloned().collect(),
        patch,
        owner: Some(Owner::of(&md)),
        overwritten,
    };
    // The original must still be the one read: a file removed or changed meanwhile is left be.
    let now = writable_state(&target)?;
    if size_and_mtime(&now) != (file.size, file.mtime_ns) {
        return Err("the file changed while being tagged; nothing written".into());
    }
    if journal.is_none() {
        *journal = Some(JournalWriter::create(journal_dir).map_err(|e| e.to_string())?);
    }
    if let Some(j) = journal.as_mut() {
        j.append(&entry)
            .map_err(|e| format!("cannot log the write for undo, so nothing written: {e}"))?;
    }
    match staged {
        Some(staged) => {
            replace::commit(staged, &target)?;
            Ok(after)
        }
        None => {
            let md = in_place::rewrite(&target, &original, &written, Some(when), None)
                .map_err(|e| format!("{e} (`earmark tag undo --last` restores the original)"))?;
            let (size, mtime_ns) = size_and_mtime(&md);
            Ok(FileState {
                size,
                mtime_ns,
                ..after
            })
        }
    }
}

/// Nanoseconds since the Unix epoch (0 before it).
fn nanos(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}
