//! Read-only views of the index: counts for `status`, the error list, export rows, and the
//! inputs of similarity search (clip vectors with the facts search filters on). Tombstones —
//! files gone from disk, kept for their grace period — are in none of them.

use rusqlite::params;
use serde::Serialize;

use super::Library;
use super::db::sql;
use super::measure::strip_own_path;
use super::vectors::{ClipColumn, f16_values};
use crate::error::Result;

/// Counts shown by `earmark status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatusCounts {
    /// Library roots.
    pub roots: usize,
    /// File rows.
    pub files: usize,
    /// Files analysed.
    pub indexed: usize,
    /// Files waiting for analysis.
    pub pending: usize,
    /// Files that could not be read.
    pub errors: usize,
    /// Files too short to analyse (not counted in `errors`).
    pub too_short: usize,
    /// Models with stored embeddings.
    pub models: usize,
    /// Clip embeddings stored (all models).
    pub clip_embeddings: usize,
    /// Total indexed duration in seconds.
    pub duration_s: f64,
    /// Files gone from disk, kept as tombstones for their grace period (not in `files`).
    pub missing: usize,
    /// Roots that are offline (folder missing or unreadable, or every file gone at once).
    pub offline_roots: usize,
}

/// One row of `earmark export` (and of the GUI's table).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportRow {
    /// Absolute path.
    pub path: String,
    /// `pending`, `indexed`, `error` or `too_short`.
    pub status: String,
    /// Why the file failed, for errors (without the path).
    pub error: Option<String>,
    /// Size in bytes.
    pub size: i64,
    /// Content fingerprint.
    pub fingerprint: String,
    /// Duration in seconds.
    pub duration_s: Option<f64>,
    /// Source sample rate.
    pub sample_rate: Option<i64>,
    /// Channel count.
    pub channels: Option<i64>,
    /// Container.
    pub container: Option<String>,
    /// Codec.
    pub codec: Option<String>,
    /// Embedded title.
    pub title: Option<String>,
    /// Embedded artist.
    pub artist: Option<String>,
    /// Embedded album.
    pub album: Option<String>,
    /// Embedded genre.
    pub genre: Option<String>,
    /// Bits per sample (PCM and lossless formats).
    pub bit_depth: Option<i64>,
    /// Integrated loudness (EBU R128), LUFS, to 0.01.
    pub loudness_lufs: Option<f64>,
    /// True peak, dBTP, to 0.01.
    pub true_peak_dbtp: Option<f64>,
    /// Tempo of music (files of 30 s or more), BPM, to 0.1.
    pub tempo_bpm: Option<f64>,
    /// Tags as `label:score` separated by `;`.
    pub tags: String,
}

/// A search candidate: an analysed file with the facts filters look at.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// File id.
    pub file_id: i64,
    /// Absolute path.
    pub path: String,
    /// Content fingerprint (exact duplicates share it).
    pub fingerprint: String,
    /// Duration in seconds.
    pub duration_s: f64,
}

impl Library {
    /// Counts of everything in the index.
    pub fn status(&self) -> Result<StatusCounts> {
        let what = "counting the library";
        let c = &self.conn;
        let count = |q: &str| -> Result<usize> {
            c.query_row(q, [], |r| r.get::<_, i64>(0))
                .map(|n| n.max(0) as usize)
                .map_err(sql(what))
        };
        Ok(StatusCounts {
            roots: count("SELECT count(*) FROM roots")?,
            files: count("SELECT count(*) FROM files WHERE removed_at IS NULL")?,
            indexed: count(
                "SELECT count(*) FROM files WHERE status = 'indexed' AND removed_at IS NULL",
            )?,
            pending: count(
                "SELECT count(*) FROM files WHERE status = 'pending' AND removed_at IS NULL",
            )?,
            errors: count(
                "SELECT count(*) FROM files WHERE status = 'error' AND removed_at IS NULL
                 AND error_kind IS NOT 'too_short'",
            )?,
            too_short: count(
                "SELECT count(*) FROM files WHERE status = 'error' AND removed_at IS NULL
                 AND error_kind = 'too_short'",
            )?,
            missing: count("SELECT count(*) FROM files WHERE removed_at IS NOT NULL")?,
            offline_roots: count("SELECT count(*) FROM roots WHERE offline_since IS NOT NULL")?,
            models: count("SELECT count(DISTINCT model_id) FROM clip_embeddings")?,
            clip_embeddings: count("SELECT count(*) FROM clip_embeddings")?,
            duration_s: c
                .query_row(
                    "SELECT coalesce(sum(duration_s), 0) FROM files
                     WHERE status = 'indexed' AND removed_at IS NULL",
                    [],
                    |r| r.get(0),
                )
                .map_err(sql(what))?,
        })
    }

    /// Files that could not be read or are too short to analyse, as `(path, reason)`, sorted
    /// by path; the reason does not repeat the path.
    pub fn errors(&self) -> Result<Vec<(String, String)>> {
        let what = "listing errors";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT path, coalesce(error, '') FROM files
                 WHERE status = 'error' AND removed_at IS NULL ORDER BY path",
            )
            .map_err(sql(what))?;
        let rows = stmt
            .query_map([], |r| {
                let path: String = r.get(0)?;
                let reason = strip_own_path(&path, &r.get::<_, String>(1)?);
                Ok((path, reason))
            })
            .map_err(sql(what))?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql(what))
    }

    /// Every file with its metadata and tags, sorted by path.
    pub fn export_rows(&self) -> Result<Vec<ExportRow>> {
        let what = "exporting the library";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT f.path,
                        CASE WHEN f.status = 'error' AND f.error_kind = 'too_short'
                             THEN 'too_short' ELSE f.status END,
                        f.error, f.size, f.fingerprint, f.duration_s,
                        f.sample_rate, f.channels, f.container, f.codec, f.title, f.artist,
                        f.album, f.genre, f.bit_depth, round(f.loudness_lufs, 2),
                        round(f.true_peak_dbtp, 2), round(f.tempo_bpm, 1),
                        coalesce((SELECT group_concat(t.label || ':' || printf('%.4f', t.score), ';')
                                  FROM tags t WHERE t.file_id = f.id), '')
                 FROM files f WHERE f.removed_at IS NULL ORDER BY f.path",
            )
            .map_err(sql(what))?;
        let rows = stmt
            .query_map([], |r| {
                let path: String = r.get(0)?;
                let error: Option<String> = r.get(2)?;
                Ok(ExportRow {
                    error: error.map(|e| strip_own_path(&path, &e)),
                    path,
                    status: r.get(1)?,
                    size: r.get(3)?,
                    fingerprint: r.get(4)?,
                    duration_s: r.get(5)?,
                    sample_rate: r.get(6)?,
                    channels: r.get(7)?,
                    container: r.get(8)?,
                    codec: r.get(9)?,
                    title: r.get(10)?,
                    artist: r.get(11)?,
                    album: r.get(12)?,
                    genre: r.get(13)?,
                    bit_depth: r.get(14)?,
                    loudness_lufs: r.get(15)?,
                    true_peak_dbtp: r.get(16)?,
                    tempo_bpm: r.get(17)?,
                    tags: r.get(18)?,
                })
            })
            .map_err(sql(what))?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql(what))
    }

    /// The live file row with exactly this path, as `(id, fingerprint)`.
    pub fn file_by_path(&self, path: &str) -> Result<Option<(i64, String)>> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row(
                "SELECT id, fingerprint FROM files WHERE path = ?1 AND removed_at IS NULL",
                [path],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(sql("looking a file up"))
    }

    /// The content fingerprint of file `file_id` (`None` when the index has no such file).
    pub fn fingerprint_of(&self, file_id: i64) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row(
                "SELECT fingerprint FROM files WHERE id = ?1",
                [file_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("looking a file up"))
    }

    /// The real path of file `file_id` on disk — what to open it by, also when its name is not
    /// UTF-8 (its stored text is then an escaped form; see [`super::paths`]).
    pub fn disk_path(&self, file_id: i64) -> Result<Option<std::path::PathBuf>> {
        use rusqlite::OptionalExtension;
        let row: Option<(String, Option<Vec<u8>>)> = self
            .conn
            .query_row(
                "SELECT path, path_bytes FROM files WHERE id = ?1",
                [file_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(sql("looking a file up"))?;
        Ok(row.map(|(text, bytes)| super::paths::disk_path(&text, bytes.as_deref())))
    }

    /// Analysed files under `model_id` with their clip vectors, calling `each` per file.
    pub fn for_each_clip(
        &self,
        model_id: i64,
        each: impl FnMut(Candidate, Vec<f32>),
    ) -> Result<()> {
        self.for_each_vector(model_id, ClipColumn::Clip, each)
    }

    /// Analysed files under `model_id` with their `column` vectors, calling `each` per file.
    pub fn for_each_vector(
        &self,
        model_id: i64,
        column: ClipColumn,
        mut each: impl FnMut(Candidate, Vec<f32>),
    ) -> Result<()> {
        let what = column.reading();
        let query = format!(
            "SELECT f.id, f.path, f.fingerprint, coalesce(f.duration_s, 0), {}
             FROM clip_embeddings c JOIN files f ON f.id = c.file_id
             WHERE c.model_id = ?1 AND f.status = 'indexed' AND f.removed_at IS NULL
             ORDER BY f.id",
            column.sql()
        );
        let mut stmt = self.conn.prepare(&query).map_err(sql(what))?;
        let mut rows = stmt.query(params![model_id]).map_err(sql(what))?;
        while let Some(r) = rows.next().map_err(sql(what))? {
            let blob: Vec<u8> = r.get(4).map_err(sql(what))?;
            each(
                Candidate {
                    file_id: r.get(0).map_err(sql(what))?,
                    path: r.get(1).map_err(sql(what))?,
                    fingerprint: r.get(2).map_err(sql(what))?,
                    duration_s: r.get(3).map_err(sql(what))?,
                },
                f16_values(&blob),
            );
        }
        Ok(())
    }

    /// Ids of files carrying tag `label` (any source) with at least `min_score`.
    pub fn files_with_tag(&self, label: &str, min_score: f32) -> Result<Vec<i64>> {
        let what = "filtering by tag";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT t.file_id FROM tags t JOIN files f ON f.id = t.file_id
                 WHERE t.label = ?1 AND t.score >= ?2 AND f.removed_at IS NULL",
            )
            .map_err(sql(what))?;
        let rows = stmt
            .query_map(params![label, f64::from(min_score)], |r| r.get(0))
            .map_err(sql(what))?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql(what))
    }
}
