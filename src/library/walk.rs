//! Finding audio files under a root and reconciling them with the index: what is new, changed,
//! moved (same content at a new path: its analysis is kept), removed or unchanged.
//!
//! An unchanged file is recognised by path, size and modification time alone, so a rescan of
//! an untouched library reads no file content. Content fingerprints (xxh3-128 of the bytes) are
//! computed only for new files and files whose size or time changed; a changed time with the same
//! fingerprint is only a touch.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::Library;
use super::db::sql;
use super::model_id::hash_file;
use super::store::KnownFile;
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
    /// Its path (under the canonical root).
    pub path: String,
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
    /// Files gone from disk (removed from the index).
    pub removed: Vec<String>,
    /// Files seen as before.
    pub unchanged: usize,
    /// Problems met while walking (unreadable folders, symlink loops); not files.
    pub walk_problems: Vec<String>,
}

/// Whether `path` has an audio extension.
pub fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Audio files under `root` (recursively, following symlinks; loops are reported, not followed).
pub fn audio_files(root: &Path, opts: WalkOptions) -> (Vec<DiskFile>, Vec<String>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
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
                problems.push(e.to_string());
                continue;
            }
        };
        if !entry.file_type().is_file() || !is_audio(entry.path()) {
            continue;
        }
        match entry.metadata() {
            Ok(md) => files.push(DiskFile {
                path: entry.path().to_string_lossy().into_owned(),
                size: md.len(),
                mtime_ns: mtime_ns(&md),
            }),
            Err(e) => problems.push(format!("{}: {e}", entry.path().display())),
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    (files, problems)
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

impl Library {
    /// Walks `root`, compares with the index and records new, changed, moved and removed files
    /// in one transaction. Returns the root's id and what was found.
    pub fn reconcile_root(&mut self, root: &Path, opts: WalkOptions) -> Result<(i64, Reconciled)> {
        let root = canonical_root(root)?;
        let root_str = root.to_string_lossy().into_owned();
        let root_id = self.ensure_root(&root_str)?;
        let (disk, walk_problems) = audio_files(&root, opts);
        let prefix = format!("{}/", root_str.trim_end_matches('/'));
        let mut known: HashMap<String, KnownFile> = self
            .all_known_files()?
            .into_iter()
            .map(|k| (k.path.clone(), k))
            .collect();
        let mut out = Reconciled {
            walk_problems,
            ..Reconciled::default()
        };
        let what = "recording scan changes";
        self.conn.execute_batch("BEGIN").map_err(sql(what))?;
        let result = self.reconcile_in_tx(root_id, &prefix, disk, &mut known, &mut out);
        match result {
            Ok(()) => self.conn.execute_batch("COMMIT").map_err(sql(what))?,
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
        Ok((root_id, out))
    }

    fn reconcile_in_tx(
        &mut self,
        root_id: i64,
        prefix: &str,
        disk: Vec<DiskFile>,
        known: &mut HashMap<String, KnownFile>,
        out: &mut Reconciled,
    ) -> Result<()> {
        let mut fresh = Vec::new();
        for f in disk {
            match known.remove(&f.path) {
                Some(k) if k.size == f.size && k.mtime_ns == f.mtime_ns => out.unchanged += 1,
                Some(k) => {
                    let fp = hash_file(Path::new(&f.path))?;
                    if fp == k.fingerprint {
                        self.touch_file(k.id, f.size, f.mtime_ns)?;
                        out.touched.push(f.path);
                    } else {
                        self.mark_changed(k.id, f.size, f.mtime_ns, &fp)?;
                        out.changed.push(f.path);
                    }
                }
                None => fresh.push(f),
            }
        }
        // What is left of `known` under this root is gone from disk: a move source or removed.
        let mut gone: HashMap<String, Vec<KnownFile>> = HashMap::new();
        for k in known.values().filter(|k| k.path.starts_with(prefix)) {
            gone.entry(k.fingerprint.clone())
                .or_default()
                .push(k.clone());
        }
        for f in fresh {
            let fp = match hash_file(Path::new(&f.path)) {
                Ok(fp) => fp,
                Err(e) => {
                    out.walk_problems.push(e.to_string());
                    continue;
                }
            };
            if let Some(k) = gone.get_mut(&fp).and_then(Vec::pop) {
                self.move_file(k.id, root_id, &f.path, f.size, f.mtime_ns)?;
                out.moved.push((k.path, f.path));
            } else {
                self.insert_pending(root_id, &f.path, f.size, f.mtime_ns, &fp)?;
                out.new.push(f.path);
            }
        }
        for k in gone.into_values().flatten() {
            self.remove_file(k.id)?;
            out.removed.push(k.path);
        }
        out.removed.sort();
        Ok(())
    }

    /// Every file row.
    pub fn all_known_files(&self) -> Result<Vec<KnownFile>> {
        self.known_files(None)
    }

    /// Files of the given roots that need analysis by `model_id`: pending ones, and indexed ones
    /// that this model has not analysed yet. `(id, path)`, sorted by path.
    pub fn files_to_analyse(&self, root_ids: &[i64], model_id: i64) -> Result<Vec<(i64, String)>> {
        let what = "listing files to analyse";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, path FROM files f WHERE root_id = ?1 AND (status = 'pending' OR
                 (status = 'indexed' AND NOT EXISTS (SELECT 1 FROM clip_embeddings c
                  WHERE c.file_id = f.id AND c.model_id = ?2))) ORDER BY path",
            )
            .map_err(sql(what))?;
        let mut out = Vec::new();
        for &root in root_ids {
            let rows = stmt
                .query_map([root, model_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(sql(what))?;
            for row in rows {
                out.push(row.map_err(sql(what))?);
            }
        }
        out.sort_by(|a: &(i64, String), b| a.1.cmp(&b.1));
        out.dedup();
        Ok(out)
    }
}
