//! Rows of the index: roots, files, their analyses and tags — every write the scan makes, each
//! in its own small transaction. How vectors are kept and read back is [`super::vectors`].

use rusqlite::{OptionalExtension, params};

use super::Library;
use super::db::{now_ms, sql};
use super::vectors::{Segments, f16_blob, f32_blob};
use crate::error::{Error, Result};

/// Where a file stands in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    /// Seen, not analysed yet (new, changed, or a scan was interrupted).
    Pending,
    /// Analysed: metadata and embeddings stored.
    Indexed,
    /// Could not be read; the reason is stored.
    Error,
}

impl FileStatus {
    /// The text stored in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Pending => "pending",
            FileStatus::Indexed => "indexed",
            FileStatus::Error => "error",
        }
    }

    /// Parses the `status` column.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "pending" => Ok(FileStatus::Pending),
            "indexed" => Ok(FileStatus::Indexed),
            "error" => Ok(FileStatus::Error),
            other => Err(Error::Library(format!("unknown file status `{other}`"))),
        }
    }
}

/// What the scan compares against the disk: a file row's identity and change markers.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownFile {
    /// Row id.
    pub id: i64,
    /// Absolute path.
    pub path: String,
    /// Size in bytes when last seen.
    pub size: u64,
    /// Modification time (ns since the Unix epoch) when last seen.
    pub mtime_ns: i64,
    /// Content fingerprint (hex xxh3-128 of the bytes).
    pub fingerprint: String,
    /// Status.
    pub status: FileStatus,
}

/// Facts read from a file while analysing it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileMeta {
    /// Decoded duration in seconds.
    pub duration_s: f64,
    /// Source sample rate.
    pub sample_rate: u32,
    /// Source channel count.
    pub channels: usize,
    /// Bits per sample (PCM and lossless formats).
    pub bit_depth: Option<u32>,
    /// Container name.
    pub container: String,
    /// Codec name.
    pub codec: String,
    /// Embedded title.
    pub title: Option<String>,
    /// Embedded artist.
    pub artist: Option<String>,
    /// Embedded album.
    pub album: Option<String>,
    /// Embedded genre.
    pub genre: Option<String>,
    /// Loudness and tempo; `None` when not measured.
    pub measures: Option<super::measure::Measures>,
}

/// The reason stored for a file too short to analyse.
pub fn too_short_reason(duration_s: f64) -> String {
    format!("too short to analyse ({duration_s:.3} s of audio)")
}

impl Library {
    /// The id of library root `path`, added if new.
    pub fn ensure_root(&self, path: &str) -> Result<i64> {
        let what = "adding a library root";
        self.conn
            .execute(
                "INSERT INTO roots(path, added_at) VALUES (?1, ?2) ON CONFLICT(path) DO NOTHING",
                params![path, now_ms()],
            )
            .map_err(sql(what))?;
        self.conn
            .query_row("SELECT id FROM roots WHERE path = ?1", [path], |r| r.get(0))
            .map_err(sql(what))
    }

    /// The id of the root stored as `path`, if it is one.
    pub fn root_id(&self, path: &str) -> Result<Option<i64>> {
        self.conn
            .query_row("SELECT id FROM roots WHERE path = ?1", [path], |r| r.get(0))
            .optional()
            .map_err(sql("looking a root up"))
    }

    /// The library roots as `(id, path)`.
    pub fn roots(&self) -> Result<Vec<(i64, String)>> {
        let what = "listing roots";
        let mut stmt = self
            .conn
            .prepare("SELECT id, path FROM roots ORDER BY path")
            .map_err(sql(what))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sql(what))?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql(what))
    }

    /// Live file rows (not tombstones) under root `root_id`, or all of them.
    pub fn known_files(&self, root_id: Option<i64>) -> Result<Vec<KnownFile>> {
        let what = "reading known files";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, path, size, mtime_ns, fingerprint, status FROM files
                 WHERE (?1 IS NULL OR root_id = ?1) AND removed_at IS NULL",
            )
            .map_err(sql(what))?;
        let rows = stmt
            .query_map([root_id], |r| {
                let file = KnownFile {
                    id: r.get(0)?,
                    path: r.get(1)?,
                    size: r.get::<_, i64>(2)?.max(0) as u64,
                    mtime_ns: r.get(3)?,
                    fingerprint: r.get(4)?,
                    status: FileStatus::Pending,
                };
                Ok((file, r.get::<_, String>(5)?))
            })
            .map_err(sql(what))?;
        rows.map(|row| {
            let (file, status) = row.map_err(sql(what))?;
            Ok(KnownFile {
                status: FileStatus::parse(&status)?,
                ..file
            })
        })
        .collect()
    }

    /// Adds a new file, pending analysis; returns its id.
    pub fn insert_pending(
        &self,
        root_id: i64,
        path: &str,
        size: u64,
        mtime_ns: i64,
        fingerprint: &str,
    ) -> Result<i64> {
        self.insert_stored(root_id, path, None, size, mtime_ns, fingerprint)
    }

    /// [`Library::insert_pending`] with the raw bytes of a path that is not UTF-8.
    pub(crate) fn insert_stored(
        &self,
        root_id: i64,
        path: &str,
        path_bytes: Option<&[u8]>,
        size: u64,
        mtime_ns: i64,
        fingerprint: &str,
    ) -> Result<i64> {
        self.conn
            .execute(
                "INSERT INTO files(root_id, path, path_bytes, size, mtime_ns, fingerprint, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending')",
                params![
                    root_id,
                    path,
                    path_bytes,
                    size as i64,
                    mtime_ns,
                    fingerprint
                ],
            )
            .map_err(sql("adding a file"))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records that file `id` now lives at `path` (a move: its analysis and examples are kept;
    /// a tombstone comes back to life).
    pub fn move_file(
        &self,
        id: i64,
        root_id: i64,
        path: &str,
        size: u64,
        mtime_ns: i64,
    ) -> Result<()> {
        self.move_stored(id, root_id, path, None, size, mtime_ns)
    }

    /// [`Library::move_file`] with the raw bytes of a path that is not UTF-8.
    pub(crate) fn move_stored(
        &self,
        id: i64,
        root_id: i64,
        path: &str,
        path_bytes: Option<&[u8]>,
        size: u64,
        mtime_ns: i64,
    ) -> Result<()> {
        self.conn
            .execute(
                "UPDATE files SET root_id = ?2, path = ?3, path_bytes = ?4, size = ?5,
                 mtime_ns = ?6, removed_at = NULL WHERE id = ?1",
                params![id, root_id, path, path_bytes, size as i64, mtime_ns],
            )
            .map_err(sql("moving a file"))?;
        Ok(())
    }

    /// Records that file `id` is gone from disk: it becomes a tombstone, hidden from every
    /// view but kept — analysis, examples, answers — until its content reappears or the grace
    /// period ends (see [`super::reconcile`]).
    pub fn bury_file(&self, id: i64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE files SET removed_at = ?2 WHERE id = ?1",
                params![id, now_ms()],
            )
            .map_err(sql("recording a missing file"))?;
        Ok(())
    }

    /// Brings tombstone `id` back at its own path.
    pub(crate) fn revive_file(&self, id: i64) -> Result<()> {
        self.conn
            .execute("UPDATE files SET removed_at = NULL WHERE id = ?1", [id])
            .map_err(sql("restoring a file"))?;
        Ok(())
    }

    /// Updates size and time of a file whose content did not change.
    pub fn touch_file(&self, id: i64, size: u64, mtime_ns: i64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE files SET size = ?2, mtime_ns = ?3 WHERE id = ?1",
                params![id, size as i64, mtime_ns],
            )
            .map_err(sql("updating a file"))?;
        Ok(())
    }

    /// Records new content for file `id`: everything derived from the old content is dropped
    /// and the file waits for analysis again.
    ///
    /// The status changes first, so even outside a transaction an interruption leaves the file
    /// pending (its old rows are then replaced by the next analysis).
    pub fn mark_changed(&self, id: i64, size: u64, mtime_ns: i64, fingerprint: &str) -> Result<()> {
        let what = "recording a changed file";
        self.conn
            .execute(
                "UPDATE files SET size = ?2, mtime_ns = ?3, fingerprint = ?4, status = 'pending',
                 error = NULL, error_kind = NULL, bit_depth = NULL, loudness_lufs = NULL,
                 true_peak_dbtp = NULL, tempo_bpm = NULL, measured_at = NULL WHERE id = ?1",
                params![id, size as i64, mtime_ns, fingerprint],
            )
            .map_err(sql(what))?;
        self.conn
            .execute(
                "DELETE FROM region_vectors WHERE example_id IN
                 (SELECT id FROM tag_examples WHERE file_id = ?1)",
                [id],
            )
            .map_err(sql(what))?;
        for table in [
            "clip_embeddings",
            "segment_embeddings",
            "tags",
            "segment_tags",
            "map_points",
        ] {
            self.conn
                .execute(&format!("DELETE FROM {table} WHERE file_id = ?1"), [id])
                .map_err(sql(what))?;
        }
        Ok(())
    }

    /// Deletes a file row and everything attached to it, examples included (the scan never
    /// does this to a file with examples; see [`Library::bury_file`]).
    pub fn remove_file(&self, id: i64) -> Result<()> {
        self.conn
            .execute("DELETE FROM files WHERE id = ?1", [id])
            .map_err(sql("removing a file"))?;
        Ok(())
    }

    /// Stores one file's analysis — metadata, clip and segment embeddings — in one transaction.
    /// `note` (such as "truncated") is kept in the error column of an indexed file.
    #[allow(clippy::too_many_arguments)] // one row's worth of columns, written together
    pub fn store_analysis(
        &mut self,
        file_id: i64,
        model_id: i64,
        meta: &FileMeta,
        analysed: &str,
        clip: &[f32],
        tag_clip: Option<&[f32]>,
        segments: &Segments,
        note: Option<&str>,
    ) -> Result<()> {
        let what = "storing an analysis";
        let tx = self.conn.transaction().map_err(sql(what))?;
        let now = now_ms();
        tx.execute(
            "UPDATE files SET status = 'indexed', error = ?12, error_kind = NULL, duration_s = ?2,
             sample_rate = ?3, channels = ?4, container = ?5, codec = ?6, title = ?7,
             artist = ?8, album = ?9, genre = ?10, analysed_at = ?11, bit_depth = ?13
             WHERE id = ?1",
            params![
                file_id,
                meta.duration_s,
                meta.sample_rate,
                meta.channels as i64,
                meta.container,
                meta.codec,
                meta.title,
                meta.artist,
                meta.album,
                meta.genre,
                now,
                note,
                meta.bit_depth
            ],
        )
        .map_err(sql(what))?;
        if let Some(m) = &meta.measures {
            super::measure::write_measures(&tx, file_id, m, now).map_err(sql(what))?;
        }
        tx.execute(
            "INSERT OR REPLACE INTO clip_embeddings(file_id, model_id, analysed, vector, tag_vector)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![file_id, model_id, analysed, f16_blob(clip), tag_clip.map(f16_blob)],
        )
        .map_err(sql(what))?;
        tx.execute(
            "INSERT OR REPLACE INTO segment_embeddings(file_id, model_id, count, starts, vectors)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                file_id,
                model_id,
                segments.len() as i64,
                f32_blob(&segments.starts),
                f16_blob(&segments.vectors)
            ],
        )
        .map_err(sql(what))?;
        tx.commit().map_err(sql(what))
    }

    /// Records that file `id` could not be analysed, and why.
    pub fn store_error(&self, file_id: i64, reason: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE files SET status = 'error', error = ?2, error_kind = NULL, analysed_at = ?3
                 WHERE id = ?1",
                params![file_id, reason, now_ms()],
            )
            .map_err(sql("recording a file error"))?;
        Ok(())
    }

    /// Records that file `id` decoded but is too short to analyse (`duration_s` of audio):
    /// not an error of the file, its own status in every view.
    pub fn store_too_short(&self, file_id: i64, duration_s: f64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE files SET status = 'error', error_kind = 'too_short', error = ?2,
                 duration_s = ?3, analysed_at = ?4 WHERE id = ?1",
                params![file_id, too_short_reason(duration_s), duration_s, now_ms()],
            )
            .map_err(sql("recording a file too short to analyse"))?;
        Ok(())
    }
}
