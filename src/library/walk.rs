//! Finding audio files under a root: what is on disk, what could not be read, and what a
//! reconcile ([`super::reconcile`]) found — new, changed, moved (same content at a new path: its
//! analysis is kept), missing, restored or unchanged, and whether the root is offline.

use std::path::{Path, PathBuf};

use super::paths::{self, StoredPath};
use crate::error::{Error, Result};

/// File extensions the scan treats as audio (lower case).
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "wave", "bwf", "flac", "mp3", "ogg", "oga", "opus", "m4a", "m4b", "mp4", "aac", "aif",
    "aiff", "aifc", "caf", "webm", "mka", "mkv", "alac",
];

/// How roots are walked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalkOptions {
    /// Also enter folders and take files whose names start with a dot.
    pub hidden: bool,
}

/// A file found on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct DiskFile {
    /// Its path (under the canonical root) as the index stores it: the path itself when it is
    /// UTF-8, else a readable form with `\xNN` escapes (see [`super::paths`]).
    pub path: String,
    /// Its raw bytes when `path` is an escaped form.
    pub path_bytes: Option<Vec<u8>>,
    /// The real path, to open it by.
    pub os_path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Modification time in ns since the Unix epoch.
    pub mtime_ns: i64,
}

/// What reconciling one root found and recorded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reconciled {
    /// New files (now pending).
    pub new: Vec<String>,
    /// Files whose content changed (now pending).
    pub changed: Vec<String>,
    /// Files with a new time but the same content (nothing to do).
    pub touched: Vec<String>,
    /// `(from, to)` for files found at a new path with known content.
    pub moved: Vec<(String, String)>,
    /// Files gone from disk: kept as tombstones (hidden, with their analysis and examples) for
    /// [`super::reconcile::GRACE_DAYS`] days, and revived if their content reappears.
    pub removed: Vec<String>,
    /// Files back at a path where they had gone missing (their analysis and examples kept).
    pub restored: Vec<String>,
    /// Tombstones past their grace period (and without examples) deleted by this reconcile.
    pub purged: usize,
    /// Files seen as before.
    pub unchanged: usize,
    /// Why the root is offline (its folder is missing or unreadable, or every file under it
    /// disappeared): nothing under it was changed in the index. `None` when it is online.
    pub offline: Option<String>,
    /// Problems met while walking (unreadable folders, symlink loops, unreadable files).
    pub walk_problems: Vec<String>,
}

/// What walking one root found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Walk {
    /// Audio files, sorted by stored path.
    pub files: Vec<DiskFile>,
    /// Problems, one line each.
    pub problems: Vec<String>,
    /// Folders (or files) that could not be read: what the index knows under them is kept.
    pub unreadable: Vec<PathBuf>,
    /// The root folder itself could not be read.
    pub root_unreadable: bool,
}

/// Whether `path` has an audio extension.
pub fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Audio files under `root` (recursively, following symlinks; loops are reported, not followed)
/// and the problems met.
pub fn audio_files(root: &Path, opts: WalkOptions) -> (Vec<DiskFile>, Vec<String>) {
    let w = walk(root, opts);
    (w.files, w.problems)
}

/// Walks `root`: its audio files, the problems met and what could not be read.
pub fn walk(root: &Path, opts: WalkOptions) -> Walk {
    let mut out = Walk::default();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0 || opts.hidden || !e.file_name().to_string_lossy().starts_with('.')
        });
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                out.root_unreadable |= e.depth() == 0;
                // A loop is not a folder that hides files the index knows.
                if e.loop_ancestor().is_none()
                    && let Some(p) = e.path()
                {
                    out.unreadable.push(p.to_path_buf());
                }
                out.problems.push(e.to_string());
                continue;
            }
        };
        if !entry.file_type().is_file() || !is_audio(entry.path()) {
            continue;
        }
        match entry.metadata() {
            Ok(md) => {
                let StoredPath { text, bytes } = paths::stored(entry.path());
                out.files.push(DiskFile {
                    path: text,
                    path_bytes: bytes,
                    os_path: entry.path().to_path_buf(),
                    size: md.len(),
                    mtime_ns: mtime_ns(&md),
                });
            }
            Err(e) => {
                out.unreadable.push(entry.path().to_path_buf());
                out.problems
                    .push(format!("{}: {e}", entry.path().display()));
            }
        }
    }
    out.files.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn mtime_ns(md: &std::fs::Metadata) -> i64 {
    md.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64)
}

/// The canonical absolute form of a root folder.
pub fn canonical_root(root: &Path) -> Result<PathBuf> {
    let c = root.canonicalize().map_err(|e| Error::io(root, e))?;
    if !c.is_dir() {
        return Err(Error::InvalidInput(format!(
            "{}: not a folder",
            root.display()
        )));
    }
    Ok(c)
}
