//! Tags a head gave one file, as the index keeps them: the clip's labels with scores in `tags`
//! (source = the head's name), and the per-segment scores of the file's top labels in
//! `segment_tags` — the tag timeline.
//!
//! A `segment_tags` row is written for every file a head has run on, even one without segments,
//! so "has this head tagged this file" is one lookup. [`probe_tap`] scores segments with probes
//! as a scan produces them.

pub mod probe_tap;

use rusqlite::{OptionalExtension, params};

use super::Library;
use super::db::sql;
use super::vectors::{f32_blob, f32_values};
use crate::error::{Error, Result};

/// Per-segment scores of a few labels of one file: `scores[label · count + segment]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SegmentTags {
    /// Start of each segment in seconds.
    pub starts: Vec<f32>,
    /// The labels shown, best first.
    pub labels: Vec<String>,
    /// Label-major scores.
    pub scores: Vec<f32>,
}

impl SegmentTags {
    /// Number of segments.
    pub fn count(&self) -> usize {
        self.starts.len()
    }

    /// The scores of label `row` over time.
    pub fn row(&self, row: usize) -> &[f32] {
        let n = self.count();
        &self.scores[row * n..(row + 1) * n]
    }

    /// Where segment `i` ends: the next start, or one segment length after the last start.
    pub fn end_of(&self, i: usize, segment_s: f32) -> f32 {
        match self.starts.get(i + 1) {
            Some(&next) if next - self.starts[i] <= segment_s * 1.5 => next,
            _ => self.starts.get(i).map_or(0.0, |s| s + segment_s),
        }
    }
}

/// Keeps the `rows` labels whose best segment scores highest (ties: lower class first) out of
/// per-segment probabilities `probs[segment][class]`, naming them through `names`.
pub fn pick_timeline(
    starts: Vec<f32>,
    probs: &[Vec<f32>],
    names: &[String],
    rows: usize,
) -> SegmentTags {
    let classes = names.len();
    let best: Vec<f32> = (0..classes)
        .map(|c| {
            probs
                .iter()
                .map(|p| p.get(c).copied().unwrap_or(0.0))
                .fold(0.0, f32::max)
        })
        .collect();
    let top = crate::tags::top_k(&best, rows.min(classes));
    let mut scores = Vec::with_capacity(top.len() * probs.len());
    for &(c, _) in &top {
        scores.extend(probs.iter().map(|p| p.get(c).copied().unwrap_or(0.0)));
    }
    SegmentTags {
        starts,
        labels: top.iter().map(|&(c, _)| names[c].clone()).collect(),
        scores,
    }
}

impl Library {
    /// Replaces the tags of `file_id` from `source` with `(label, score)` pairs.
    pub fn set_tags(&mut self, file_id: i64, source: &str, tags: &[(String, f32)]) -> Result<()> {
        let what = "storing tags";
        let tx = self.conn.transaction().map_err(sql(what))?;
        replace_clip_tags(&tx, file_id, source, tags).map_err(sql(what))?;
        tx.commit().map_err(sql(what))
    }

    /// Replaces what head `source` says about `file_id`: its clip tags and its timeline, in one
    /// transaction.
    pub fn store_head_tags(
        &mut self,
        file_id: i64,
        source: &str,
        clip: &[(String, f32)],
        timeline: &SegmentTags,
    ) -> Result<()> {
        if timeline.scores.len() != timeline.labels.len() * timeline.count() {
            return Err(Error::InvalidInput(format!(
                "timeline of {} labels × {} segments has {} scores",
                timeline.labels.len(),
                timeline.count(),
                timeline.scores.len()
            )));
        }
        let what = "storing a head's tags";
        let labels = serde_json::to_string(&timeline.labels)
            .map_err(|e| Error::Library(format!("{what}: {e}")))?;
        let tx = self.conn.transaction().map_err(sql(what))?;
        replace_clip_tags(&tx, file_id, source, clip).map_err(sql(what))?;
        tx.execute(
            "INSERT OR REPLACE INTO segment_tags(file_id, source, count, starts, labels, scores)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                file_id,
                source,
                timeline.count() as i64,
                f32_blob(&timeline.starts),
                labels,
                f32_blob(&timeline.scores)
            ],
        )
        .map_err(sql(what))?;
        tx.commit().map_err(sql(what))
    }

    /// The timeline head `source` stored for `file_id` (with `None`: the first source in name
    /// order that has segments), as `(source, timeline)`.
    pub fn segment_tags(
        &self,
        file_id: i64,
        source: Option<&str>,
    ) -> Result<Option<(String, SegmentTags)>> {
        let what = "reading a tag timeline";
        let row = self
            .conn
            .query_row(
                "SELECT source, starts, labels, scores FROM segment_tags
                 WHERE file_id = ?1 AND (?2 IS NULL OR source = ?2) AND (?2 IS NOT NULL OR count > 0)
                 ORDER BY source LIMIT 1",
                params![file_id, source],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                    ))
                },
            )
            .optional()
            .map_err(sql(what))?;
        let Some((source, starts, labels, scores)) = row else {
            return Ok(None);
        };
        let labels: Vec<String> = serde_json::from_str(&labels)
            .map_err(|e| Error::Library(format!("{what}: labels: {e}")))?;
        let timeline = SegmentTags {
            starts: f32_values(&starts),
            labels,
            scores: f32_values(&scores),
        };
        if timeline.scores.len() != timeline.labels.len() * timeline.count() {
            return Err(Error::Library(format!(
                "{what}: the stored timeline of file {file_id} is inconsistent"
            )));
        }
        Ok(Some((source, timeline)))
    }

    /// Removes everything head `source` stored (clip tags and timelines).
    pub fn forget_head(&mut self, source: &str) -> Result<()> {
        let what = "removing a head's tags";
        let tx = self.conn.transaction().map_err(sql(what))?;
        for table in ["tags", "segment_tags"] {
            tx.execute(&format!("DELETE FROM {table} WHERE source = ?1"), [source])
                .map_err(sql(what))?;
        }
        tx.commit().map_err(sql(what))
    }

    /// Indexed files head `source` has not tagged yet, as `(id, path)` in id order.
    pub fn files_untagged_by(&self, source: &str) -> Result<Vec<(i64, String)>> {
        let what = "listing files a head has not tagged";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT f.id, f.path FROM files f WHERE f.status = 'indexed' AND f.removed_at IS NULL
                 AND NOT EXISTS
                 (SELECT 1 FROM segment_tags s WHERE s.file_id = f.id AND s.source = ?1)
                 ORDER BY f.id",
            )
            .map_err(sql(what))?;
        let rows = stmt
            .query_map([source], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sql(what))?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql(what))
    }

    /// Every tag label with the number of files carrying it, by label.
    pub fn label_counts(&self) -> Result<Vec<(String, usize)>> {
        let what = "counting tags";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT label, count(DISTINCT file_id) FROM tags GROUP BY label ORDER BY label",
            )
            .map_err(sql(what))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as usize))
            })
            .map_err(sql(what))?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql(what))
    }
}

/// Replaces the `tags` rows of `file_id` from `source` with `(label, score)` pairs, inside `tx`.
fn replace_clip_tags(
    tx: &rusqlite::Transaction<'_>,
    file_id: i64,
    source: &str,
    tags: &[(String, f32)],
) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM tags WHERE file_id = ?1 AND source = ?2",
        params![file_id, source],
    )?;
    let mut stmt =
        tx.prepare("INSERT INTO tags(file_id, source, label, score) VALUES (?1, ?2, ?3, ?4)")?;
    for (label, score) in tags {
        stmt.execute(params![file_id, source, label, f64::from(*score)])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    #[test]
    fn timeline_keeps_the_labels_with_the_best_segments() {
        let probs = vec![
            vec![0.1, 0.7, 0.2, 0.0],
            vec![0.05, 0.15, 0.0, 0.8],
            vec![0.6, 0.2, 0.1, 0.1],
        ];
        let t = pick_timeline(vec![0.0, 0.96, 1.92], &probs, &names(4), 2);
        assert_eq!(t.labels, ["c3", "c1"]);
        assert_eq!(t.row(0), &[0.0, 0.8, 0.1]);
        assert_eq!(t.row(1), &[0.7, 0.15, 0.2]);
        assert!((t.end_of(2, 0.96) - 2.88).abs() < 1e-6);
    }

    #[test]
    fn head_tags_round_trip_and_mark_the_file() {
        let mut lib = Library::in_memory().unwrap();
        let root = lib.ensure_root("/r").unwrap();
        let id = lib.insert_pending(root, "/r/a.wav", 1, 0, "f").unwrap();
        lib.store_analysis(
            id,
            lib.ensure_model(&crate::library::model_id::ModelIdentity {
                identity: "m".into(),
                name: "m".into(),
                config_hash: "c".into(),
                config_json: "{}".into(),
                clip_dim: 2,
                segment_dim: 2,
            })
            .unwrap(),
            &crate::library::FileMeta::default(),
            "full",
            &[0.0, 1.0],
            None,
            &crate::library::Segments::default(),
            None,
        )
        .unwrap();
        assert_eq!(lib.files_untagged_by("h").unwrap().len(), 1);
        let t = pick_timeline(
            vec![0.0, 1.0],
            &[vec![0.9, 0.1], vec![0.4, 0.6]],
            &names(2),
            2,
        );
        lib.store_head_tags(id, "h", &[("c0".into(), 0.65)], &t)
            .unwrap();
        assert!(lib.files_untagged_by("h").unwrap().is_empty());
        let (source, back) = lib.segment_tags(id, None).unwrap().unwrap();
        assert_eq!((source.as_str(), &back), ("h", &t));
        assert_eq!(lib.label_counts().unwrap(), [("c0".to_string(), 1)]);
        let bad = SegmentTags {
            scores: vec![1.0],
            ..t
        };
        assert!(lib.store_head_tags(id, "h", &[], &bad).is_err());
    }
}
