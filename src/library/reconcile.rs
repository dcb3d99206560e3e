//! Recording what a walk found, without ever losing what the user made.
//!
//! - An unchanged file is recognised by path, size and modification time alone, so a rescan of
//!   an untouched library reads no file content. Content fingerprints (xxh3-128 of the bytes)
//!   are computed only for new files and files whose size or time changed; a changed time with
//!   the same fingerprint is only a touch.
//! - A root whose folder is missing or unreadable, or under which every known file disappeared
//!   at once (an unmounted drive, a NAS that is down) is *offline*: flagged, nothing changed.
//! - A file gone from disk becomes a tombstone: hidden from every view, its analysis, examples
//!   and review answers kept. A new file with the same content — under any root — takes the
//!   tombstone's row (a move), so all of it re-attaches. Tombstones are purged after
//!   [`GRACE_DAYS`], except those carrying the user's examples, which stay until their content
//!   comes back.
//! - A new file whose content was last seen at a path that no longer exists under another
//!   root is a move across roots, not "removed + new".

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::params;

use super::Library;
use super::analyse::MIN_TAG_SECONDS;
use super::db::now_ms;
use super::db::{files_of_roots, sql};
use super::model_id::hash_file;
use super::paths;
use super::store::KnownFile;
use super::walk::{self, DiskFile, Reconciled, WalkOptions, canonical_root};
use crate::error::Result;

/// Days a file gone from disk is kept as a tombstone before it is purged.
pub const GRACE_DAYS: i64 = 30;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A file row as reconciling sees it (tombstones included).
#[derive(Debug, Clone)]
struct Row {
    id: i64,
    root_id: i64,
    path: String,
    path_bytes: Option<Vec<u8>>,
    size: u64,
    mtime_ns: i64,
    fingerprint: String,
    removed: bool,
}

/// Where a move source comes from, in the order they are preferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    /// A file of this root that is not on disk any more.
    GoneHere,
    /// A tombstone of any root.
    Tombstone,
    /// A live file of another root, if its path is gone while its root is present.
    OtherRoot,
}

/// A library root and whether it is offline.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RootState {
    /// Row id.
    pub id: i64,
    /// The root folder as stored.
    pub path: String,
    /// When it went offline (ms since the Unix epoch); `None` while online.
    pub offline_since: Option<i64>,
}

impl Library {
    /// Walks `root`, compares with the index and records new, changed, moved, missing and
    /// restored files in one transaction. Returns the root's id and what was found. A known
    /// root that is offline is flagged and left as it is; an unknown folder that does not
    /// exist is an error.
    pub fn reconcile_root(&mut self, root: &Path, opts: WalkOptions) -> Result<(i64, Reconciled)> {
        let canonical = match canonical_root(root) {
            Ok(c) => c,
            Err(e) => {
                let abs = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
                let known = [root.to_path_buf(), abs]
                    .iter()
                    .map(|p| paths::stored(p).text)
                    .find_map(|t| self.root_id(t.trim_end_matches('/')).transpose())
                    .transpose()?;
                return match known {
                    Some(id) => self.mark_offline(id, format!("{e}; nothing was removed")),
                    None => Err(e),
                };
            }
        };
        let root_str = paths::stored(&canonical).text;
        let root_id = self.ensure_root(&root_str)?;
        let walked = walk::walk(&canonical, opts);
        let prefix = format!("{}/", root_str.trim_end_matches('/'));
        let rows = self.rows()?;
        let live_here = rows
            .iter()
            .filter(|r| !r.removed && r.path.starts_with(&prefix))
            .count();
        if walked.root_unreadable {
            let why = format!("{root_str}: the folder cannot be read; nothing was removed");
            let (id, mut out) = self.mark_offline(root_id, why)?;
            out.walk_problems = walked.problems;
            return Ok((id, out));
        }
        if walked.files.is_empty() && live_here > 0 {
            let why = format!(
                "{root_str}: none of its {live_here} files were found (a drive not mounted?); \
                 nothing was removed"
            );
            let (id, mut out) = self.mark_offline(root_id, why)?;
            out.walk_problems = walked.problems;
            return Ok((id, out));
        }
        let unreadable: Vec<String> = walked
            .unreadable
            .iter()
            .map(|p| paths::stored(p).text.trim_end_matches('/').to_owned())
            .collect();
        let mut out = Reconciled {
            walk_problems: walked.problems,
            ..Reconciled::default()
        };
        let what = "recording scan changes";
        self.conn.execute_batch("BEGIN").map_err(sql(what))?;
        let result =
            self.reconcile_in_tx(root_id, &prefix, &unreadable, walked.files, rows, &mut out);
        match result {
            Ok(()) => self.conn.execute_batch("COMMIT").map_err(sql(what))?,
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
        Ok((root_id, out))
    }

    fn mark_offline(&self, root_id: i64, why: String) -> Result<(i64, Reconciled)> {
        self.conn
            .execute(
                "UPDATE roots SET offline_since = coalesce(offline_since, ?2) WHERE id = ?1",
                params![root_id, now_ms()],
            )
            .map_err(sql("marking a root offline"))?;
        Ok((
            root_id,
            Reconciled {
                offline: Some(why),
                ..Reconciled::default()
            },
        ))
    }

    fn reconcile_in_tx(
        &mut self,
        root_id: i64,
        prefix: &str,
        unreadable: &[String],
        disk: Vec<DiskFile>,
        rows: Vec<Row>,
        out: &mut Reconciled,
    ) -> Result<()> {
        self.conn
            .execute(
                "UPDATE roots SET offline_since = NULL WHERE id = ?1",
                [root_id],
            )
            .map_err(sql("marking a root online"))?;
        let mut by_path: HashMap<String, Row> =
            rows.into_iter().map(|r| (r.path.clone(), r)).collect();
        let mut fresh = Vec::new();
        for f in disk {
            match by_path.remove(&f.path) {
                Some(k) => self.seen_again(&k, &f, out)?,
                None => fresh.push(f),
            }
        }
        let present_roots = self.present_roots()?;
        let mut sources: HashMap<String, Vec<(Source, Row)>> = HashMap::new();
        for r in by_path.into_values() {
            let source = if r.removed {
                Source::Tombstone
            } else if r.path.starts_with(prefix) {
                // Files under a folder that could not be read are not known to be gone.
                if unreadable.iter().any(|u| within(&r.path, u)) {
                    continue;
                }
                Source::GoneHere
            } else if present_roots.contains(&r.root_id) {
                Source::OtherRoot
            } else {
                continue;
            };
            sources
                .entry(r.fingerprint.clone())
                .or_default()
                .push((source, r));
        }
        for list in sources.values_mut() {
            // Preferred last, so `pop` takes it first.
            list.sort_by_key(|e| std::cmp::Reverse(e.0));
        }
        for f in fresh {
            let fp = match hash_file(&f.os_path) {
                Ok(fp) => fp,
                Err(e) => {
                    out.walk_problems.push(e.to_string());
                    continue;
                }
            };
            match take_source(&mut sources, &fp) {
                Some(k) => {
                    self.move_stored(
                        k.id,
                        root_id,
                        &f.path,
                        f.path_bytes.as_deref(),
                        f.size,
                        f.mtime_ns,
                    )?;
                    out.moved.push((k.path, f.path));
                }
                None => {
                    self.insert_stored(
                        root_id,
                        &f.path,
                        f.path_bytes.as_deref(),
                        f.size,
                        f.mtime_ns,
                        &fp,
                    )?;
                    out.new.push(f.path);
                }
            }
        }
        for (source, k) in sources.into_values().flatten() {
            if source == Source::GoneHere {
                self.bury_file(k.id)?;
                out.removed.push(k.path);
            }
        }
        out.removed.sort();
        out.purged = self.purge_tombstones(now_ms() - GRACE_DAYS * DAY_MS)?;
        Ok(())
    }

    /// A known row found at its own path: unchanged, touched, changed, or a tombstone back.
    fn seen_again(&self, k: &Row, f: &DiskFile, out: &mut Reconciled) -> Result<()> {
        if k.removed {
            self.revive_file(k.id)?;
            out.restored.push(f.path.clone());
        }
        if k.size == f.size && k.mtime_ns == f.mtime_ns {
            out.unchanged += usize::from(!k.removed);
            return Ok(());
        }
        let fp = hash_file(&f.os_path)?;
        if fp == k.fingerprint {
            self.touch_file(k.id, f.size, f.mtime_ns)?;
            if !k.removed {
                out.touched.push(f.path.clone());
            }
        } else {
            self.mark_changed(k.id, f.size, f.mtime_ns, &fp)?;
            out.changed.push(f.path.clone());
        }
        Ok(())
    }

    /// Deletes tombstones buried before `before_ms` that carry none of the user's examples;
    /// returns how many.
    pub fn purge_tombstones(&self, before_ms: i64) -> Result<usize> {
        self.conn
            .execute(
                "DELETE FROM files WHERE removed_at IS NOT NULL AND removed_at < ?1
                 AND NOT EXISTS (SELECT 1 FROM tag_examples e WHERE e.file_id = files.id)",
                [before_ms],
            )
            .map_err(sql("purging missing files"))
    }

    /// Ids of roots that are online and whose folder exists.
    fn present_roots(&self) -> Result<Vec<i64>> {
        Ok(self
            .root_states()?
            .into_iter()
            .filter(|r| r.offline_since.is_none() && Path::new(&r.path).is_dir())
            .map(|r| r.id)
            .collect())
    }

    /// Every root with its offline flag, sorted by path.
    pub fn root_states(&self) -> Result<Vec<RootState>> {
        let what = "listing roots";
        let mut stmt = self
            .conn
            .prepare("SELECT id, path, offline_since FROM roots ORDER BY path")
            .map_err(sql(what))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(RootState {
                    id: r.get(0)?,
                    path: r.get(1)?,
                    offline_since: r.get(2)?,
                })
            })
            .map_err(sql(what))?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql(what))
    }

    fn rows(&self) -> Result<Vec<Row>> {
        let what = "reading known files";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, root_id, path, path_bytes, size, mtime_ns, fingerprint,
                        removed_at IS NOT NULL FROM files",
            )
            .map_err(sql(what))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Row {
                    id: r.get(0)?,
                    root_id: r.get(1)?,
                    path: r.get(2)?,
                    path_bytes: r.get(3)?,
                    size: r.get::<_, i64>(4)?.max(0) as u64,
                    mtime_ns: r.get(5)?,
                    fingerprint: r.get(6)?,
                    removed: r.get(7)?,
                })
            })
            .map_err(sql(what))?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql(what))
    }

    /// Every live file row (tombstones are not files of the library).
    pub fn all_known_files(&self) -> Result<Vec<KnownFile>> {
        self.known_files(None)
    }

    /// Live files of the given roots that need analysis by `model_id`: pending ones, indexed
    /// ones that this model has not analysed yet, and short clips it analysed before the index
    /// kept what tag heads hear of them (an index of an earlier version: see
    /// [`MIN_TAG_SECONDS`]). `(id, stored path, real path)`, sorted by stored path.
    pub fn files_to_analyse(
        &self,
        root_ids: &[i64],
        model_id: i64,
    ) -> Result<Vec<(i64, String, PathBuf)>> {
        let what = "listing files to analyse";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, path, path_bytes FROM files f WHERE root_id = ?1
                 AND removed_at IS NULL AND (status = 'pending' OR
                 (status = 'indexed' AND NOT EXISTS (SELECT 1 FROM clip_embeddings c
                  WHERE c.file_id = f.id AND c.model_id = ?2)) OR
                 (status = 'indexed' AND f.duration_s < ?3 AND EXISTS (SELECT 1
                  FROM clip_embeddings c WHERE c.file_id = f.id AND c.model_id = ?2
                  AND c.tag_vector IS NULL))) ORDER BY path",
            )
            .map_err(sql(what))?;
        // Clearly short: a clip within resampling's rounding of the limit may have been heard
        // whole, and must not be analysed again by every scan.
        let short = MIN_TAG_SECONDS - 0.01;
        let mut out = files_of_roots(&mut stmt, root_ids, &[&model_id, &short], what)?;
        out.dedup();
        Ok(out)
    }
}

/// Whether stored path `path` is `dir` or lies under it.
fn within(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The preferred move source of content `fp`: this root's gone files, then tombstones, then a
/// file of another root whose path no longer exists.
fn take_source(sources: &mut HashMap<String, Vec<(Source, Row)>>, fp: &str) -> Option<Row> {
    let list = sources.get_mut(fp)?;
    while let Some((source, row)) = list.pop() {
        let gone = source != Source::OtherRoot
            || !paths::disk_path(&row.path, row.path_bytes.as_deref()).exists();
        if gone {
            return Some(row);
        }
    }
    None
}
