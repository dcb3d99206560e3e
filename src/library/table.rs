//! What the window's library table and inspector read from the index, as plain values: one row
//! per live file (with its root and its three best tags), every `(file, label)` pair the tag
//! filter needs, and a file's strongest stored tags.
//!
//! The table reads everything in one query on a worker thread (100,000 rows stay quick), so
//! these readers return whole lists or stream through a callback rather than page.

use rusqlite::params;

use super::Library;
use super::db::sql;
use crate::error::Result;

/// One live file as the table lists it, straight from the index.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    /// File id in the index.
    pub id: i64,
    /// The stored path.
    pub path: String,
    /// The path of the library root the file lies under.
    pub root: String,
    /// Duration in seconds, once analysed.
    pub duration_s: Option<f64>,
    /// `pending`, `indexed`, `error` (could not be read) or `too_short` (too short to analyse).
    pub status: String,
    /// Why the file failed (or a note such as "truncated").
    pub error: Option<String>,
    /// The file's three highest-scoring tags (any source), comma separated; empty when none.
    pub top_tags: String,
    /// The file's facts and measures, once analysed.
    pub media: MediaFacts,
}

/// What the scan read and measured of one file; every field is `None` until the file is
/// analysed (and the measures until they are taken: files indexed by an older Earmark are
/// measured by the next rescan).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaFacts {
    /// Embedded title.
    pub title: Option<String>,
    /// Embedded artist.
    pub artist: Option<String>,
    /// Embedded album.
    pub album: Option<String>,
    /// Source sample rate in Hz.
    pub sample_rate: Option<u32>,
    /// Bits per sample of the source (`None` for lossy codecs, which have none).
    pub bit_depth: Option<u32>,
    /// Channel count.
    pub channels: Option<u32>,
    /// Integrated loudness (EBU R128), LUFS; `None` for silence.
    pub loudness_lufs: Option<f64>,
    /// True peak (EBU R128), dBTP.
    pub true_peak_dbtp: Option<f64>,
    /// Tempo of music (files of 30 s or more), BPM; `None` for shorter files or no steady beat.
    pub tempo_bpm: Option<f64>,
}

/// The columns of [`MediaFacts`], in its field order, for `SELECT`s on `files f`.
pub(crate) const MEDIA_COLUMNS: &str = "f.title, f.artist, f.album, f.sample_rate, f.bit_depth, \
     f.channels, f.loudness_lufs, f.true_peak_dbtp, f.tempo_bpm";

impl MediaFacts {
    /// Reads [`MEDIA_COLUMNS`] starting at column `at` of `r`.
    pub(crate) fn read(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Self> {
        let count = |v: Option<i64>| v.and_then(|v| u32::try_from(v).ok());
        Ok(MediaFacts {
            title: r.get(at)?,
            artist: r.get(at + 1)?,
            album: r.get(at + 2)?,
            sample_rate: count(r.get(at + 3)?),
            bit_depth: count(r.get(at + 4)?),
            channels: count(r.get(at + 5)?),
            loudness_lufs: r.get(at + 6)?,
            true_peak_dbtp: r.get(at + 7)?,
            tempo_bpm: r.get(at + 8)?,
        })
    }
}

impl Library {
    /// Every live file (not removed from disk), sorted by path.
    pub fn table_rows(&self) -> Result<Vec<TableRow>> {
        let what = "reading the table";
        let query = format!(
            "SELECT f.id, f.path, r.path, f.duration_s,
                    CASE WHEN f.status = 'error' AND f.error_kind = 'too_short' THEN 'too_short'
                         ELSE f.status END,
                    f.error,
                    coalesce((SELECT group_concat(label, ', ') FROM
                        (SELECT label FROM tags t WHERE t.file_id = f.id
                         ORDER BY score DESC LIMIT 3)), ''),
                    {MEDIA_COLUMNS}
             FROM files f JOIN roots r ON r.id = f.root_id WHERE f.removed_at IS NULL
             ORDER BY f.path"
        );
        let mut stmt = self.conn.prepare(&query).map_err(sql(what))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(TableRow {
                    id: r.get(0)?,
                    path: r.get(1)?,
                    root: r.get(2)?,
                    duration_s: r.get(3)?,
                    status: r.get(4)?,
                    error: r.get(5)?,
                    top_tags: r.get(6)?,
                    media: MediaFacts::read(r, 7)?,
                })
            })
            .map_err(sql(what))?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql(what))
    }

    /// Calls `each(file id, label)` once for every distinct pair in the tags (any source,
    /// removed files included), in no particular order.
    pub fn for_each_file_label(&self, mut each: impl FnMut(i64, String)) -> Result<()> {
        let what = "reading tags";
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT file_id, label FROM tags")
            .map_err(sql(what))?;
        let mut q = stmt.query([]).map_err(sql(what))?;
        while let Some(r) = q.next().map_err(sql(what))? {
            each(r.get(0).map_err(sql(what))?, r.get(1).map_err(sql(what))?);
        }
        Ok(())
    }

    /// The `limit` best tags of `file_id` from every source but `except_source`, as
    /// `(label, best score)`, best first (a label from several sources appears once).
    pub fn strongest_tags(
        &self,
        file_id: i64,
        except_source: &str,
        limit: usize,
    ) -> Result<Vec<(String, f32)>> {
        let what = "reading tags";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT label, max(score) FROM tags WHERE file_id = ?1 AND source != ?2
                 GROUP BY label ORDER BY 2 DESC LIMIT ?3",
            )
            .map_err(sql(what))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![file_id, except_source, limit], |r| {
                Ok((r.get(0)?, r.get::<_, f64>(1)? as f32))
            })
            .map_err(sql(what))?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql(what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tagged_library() -> (Library, i64, i64) {
        let mut lib = Library::in_memory().unwrap();
        let root = lib.ensure_root("/lib").unwrap();
        let b = lib
            .insert_pending(root, "/lib/b/snare.wav", 10, 0, "fb")
            .unwrap();
        let a = lib
            .insert_pending(root, "/lib/a/kick.wav", 10, 0, "fa")
            .unwrap();
        let gone = lib
            .insert_pending(root, "/lib/gone.wav", 10, 0, "fg")
            .unwrap();
        lib.bury_file(gone).unwrap();
        let tags = |pairs: &[(&str, f32)]| -> Vec<(String, f32)> {
            pairs.iter().map(|(l, s)| (l.to_string(), *s)).collect()
        };
        lib.set_tags(
            a,
            "head",
            &tags(&[("drum", 0.9), ("kick", 0.8), ("loud", 0.5), ("dry", 0.1)]),
        )
        .unwrap();
        lib.set_tags(a, "personal", &tags(&[("mine", 0.99), ("drum", 0.95)]))
            .unwrap();
        lib.set_tags(b, "head", &tags(&[("snare", 0.7)])).unwrap();
        (lib, a, b)
    }

    #[test]
    fn table_rows_list_live_files_by_path_with_their_three_best_tags() {
        let (lib, a, b) = tagged_library();
        let rows = lib.table_rows().unwrap();
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![a, b], "sorted by path, the removed file left out");
        assert_eq!(rows[0].root, "/lib");
        assert_eq!(rows[0].status, "pending");
        assert_eq!(rows[0].duration_s, None);
        assert_eq!(rows[0].top_tags, "mine, drum, drum");
        assert_eq!(rows[1].top_tags, "snare");
    }

    #[test]
    fn file_labels_are_distinct_pairs_across_sources() {
        let (lib, a, b) = tagged_library();
        let mut pairs = Vec::new();
        lib.for_each_file_label(|id, label| pairs.push((id, label)))
            .unwrap();
        pairs.sort();
        let of = |id: i64| -> Vec<&str> {
            pairs
                .iter()
                .filter(|(i, _)| *i == id)
                .map(|(_, l)| l.as_str())
                .collect()
        };
        assert_eq!(of(a), vec!["drum", "dry", "kick", "loud", "mine"]);
        assert_eq!(of(b), vec!["snare"]);
    }

    #[test]
    fn strongest_tags_skip_one_source_merge_labels_and_stop_at_the_limit() {
        let (lib, a, _) = tagged_library();
        let all = lib.strongest_tags(a, "personal", 10).unwrap();
        let labels: Vec<&str> = all.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels, vec!["drum", "kick", "loud", "dry"]);
        assert!(
            (all[0].1 - 0.9).abs() < 1e-6,
            "the personal 0.95 is skipped"
        );
        let merged = lib.strongest_tags(a, "none", 1).unwrap();
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].0, "mine");
    }
}
