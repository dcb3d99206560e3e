//! Personal-tag rows: the user's examples (a whole file or a region of it, positive or negative,
//! given by hand or through the review list), the embeddings of region examples per model, the
//! fitted classifier per tag and model, and the predictions written into `tags`.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::Library;
use super::db::now_ms;
use super::db::sql;
use super::vectors::{f16_blob, f16_values, f32_blob, f32_values};
use crate::error::{Error, Result};
use crate::tags::TagClassifier;
use crate::tags::classifier::{Calibration, FitSummary};

/// The `source` of personal-tag rows in the `tags` table.
pub const PERSONAL_SOURCE: &str = "personal";

/// Where an example came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExampleSource {
    /// Added by the user (`tag add`, the GUI's "add tag").
    Manual,
    /// An answer in the review list (accept / reject).
    Review,
}

impl ExampleSource {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            ExampleSource::Manual => "manual",
            ExampleSource::Review => "review",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "manual" => Ok(ExampleSource::Manual),
            "review" => Ok(ExampleSource::Review),
            other => Err(Error::Library(format!("unknown example source `{other}`"))),
        }
    }
}

/// A time region of a file, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Region {
    /// Start.
    pub start_s: f64,
    /// End (after the start).
    pub end_s: f64,
}

/// One stored example of a personal tag.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Example {
    /// Row id.
    pub id: i64,
    /// The tag.
    pub label: String,
    /// The file.
    pub file_id: i64,
    /// Its path.
    pub path: String,
    /// The region, or the whole file.
    pub region: Option<Region>,
    /// Whether the file (region) carries the tag.
    pub positive: bool,
    /// Manual or review.
    pub source: ExampleSource,
    /// Its file is gone from disk: the example is kept (and still teaches its tag) and comes
    /// back with the file when the same content is found again, at any path.
    pub missing: bool,
}

/// Counts per personal tag, for `tag list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TagCounts {
    /// The tag.
    pub label: String,
    /// Positive examples.
    pub positives: usize,
    /// Negative examples.
    pub negatives: usize,
    /// Files carrying the tag in the index (examples and predictions at or above 0.5).
    pub tagged_files: usize,
}

/// A file carrying a tag, for playlists.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaggedFile {
    /// Absolute path.
    pub path: String,
    /// Duration in seconds.
    pub duration_s: Option<f64>,
    /// Embedded title.
    pub title: Option<String>,
    /// Embedded artist.
    pub artist: Option<String>,
    /// The tag's score.
    pub score: f64,
}

/// Checks a tag name: not empty, no control characters, at most 100 characters.
pub fn check_label(label: &str) -> Result<()> {
    let ok = !label.trim().is_empty()
        && label.trim() == label
        && label.chars().count() <= 100
        && !label.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "`{label}` is not a usable tag name (1–100 characters, no surrounding spaces or \
             control characters)"
        )))
    }
}

impl Library {
    /// Records (or replaces) an example of `label`; returns its id. The same file and region
    /// given again takes the new answer.
    pub fn add_example(
        &mut self,
        label: &str,
        file_id: i64,
        region: Option<Region>,
        positive: bool,
        source: ExampleSource,
    ) -> Result<i64> {
        check_label(label)?;
        if let Some(r) = region
            && !(r.start_s.is_finite()
                && r.end_s.is_finite()
                && r.start_s >= 0.0
                && r.end_s > r.start_s)
        {
            return Err(Error::InvalidInput(format!(
                "region {}–{} s: the end must come after a start ≥ 0",
                r.start_s, r.end_s
            )));
        }
        let what = "storing a tag example";
        let (start, end) = (region.map(|r| r.start_s), region.map(|r| r.end_s));
        let tx = self.conn.transaction().map_err(sql(what))?;
        tx.execute(
            "DELETE FROM tag_examples WHERE label = ?1 AND file_id = ?2
             AND coalesce(start_s, -1) = coalesce(?3, -1) AND coalesce(end_s, -1) = coalesce(?4, -1)",
            params![label, file_id, start, end],
        )
        .map_err(sql(what))?;
        tx.execute(
            "INSERT INTO tag_examples(label, file_id, start_s, end_s, positive, source, added_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                label,
                file_id,
                start,
                end,
                positive,
                source.as_str(),
                now_ms()
            ],
        )
        .map_err(sql(what))?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(sql(what))?;
        Ok(id)
    }

    /// Removes one example (and its region embeddings).
    pub fn remove_example(&self, example_id: i64) -> Result<()> {
        self.conn
            .execute("DELETE FROM tag_examples WHERE id = ?1", [example_id])
            .map_err(sql("removing a tag example"))?;
        Ok(())
    }

    /// Examples of `label` (all tags with `None`), oldest first.
    pub fn examples(&self, label: Option<&str>) -> Result<Vec<Example>> {
        self.examples_where("?1 IS NULL OR e.label = ?1", params![label])
    }

    /// Examples concerning file `file_id`, of any tag.
    pub fn examples_of_file(&self, file_id: i64) -> Result<Vec<Example>> {
        self.examples_where("e.file_id = ?1", params![file_id])
    }

    fn examples_where(&self, cond: &str, args: impl rusqlite::Params) -> Result<Vec<Example>> {
        let what = "reading tag examples";
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT e.id, e.label, e.file_id, f.path, e.start_s, e.end_s, e.positive, e.source,
                        f.removed_at IS NOT NULL
                 FROM tag_examples e JOIN files f ON f.id = e.file_id WHERE {cond}
                 ORDER BY e.id"
            ))
            .map_err(sql(what))?;
        let rows = stmt
            .query_map(args, |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<f64>>(4)?,
                    r.get::<_, Option<f64>>(5)?,
                    r.get::<_, bool>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, bool>(8)?,
                ))
            })
            .map_err(sql(what))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, label, file_id, path, start, end, positive, source, missing) =
                row.map_err(sql(what))?;
            out.push(Example {
                id,
                label,
                file_id,
                path,
                region: start
                    .zip(end)
                    .map(|(start_s, end_s)| Region { start_s, end_s }),
                positive,
                source: ExampleSource::parse(&source)?,
                missing,
            });
        }
        Ok(out)
    }

    /// A marker that changes whenever the examples of `label` change (count, newest id —
    /// ids are never reused, and a replaced example gets a new one —, positives): a stored
    /// classifier with another marker is out of date.
    pub fn examples_key(&self, label: &str) -> Result<String> {
        self.conn
            .query_row(
                "SELECT count(*), coalesce(max(id), 0), coalesce(sum(positive), 0)
                 FROM tag_examples WHERE label = ?1",
                [label],
                |r| {
                    Ok(format!(
                        "{}:{}:{}",
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?
                    ))
                },
            )
            .map_err(sql("reading tag examples"))
    }

    /// Every personal tag with its counts, sorted by name.
    pub fn personal_tags(&self) -> Result<Vec<TagCounts>> {
        let what = "listing personal tags";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT e.label, sum(e.positive), sum(1 - e.positive),
                        (SELECT count(*) FROM tags t JOIN files f ON f.id = t.file_id
                         WHERE t.source = ?1 AND t.label = e.label AND f.removed_at IS NULL)
                 FROM tag_examples e GROUP BY e.label ORDER BY e.label",
            )
            .map_err(sql(what))?;
        let rows = stmt
            .query_map([PERSONAL_SOURCE], |r| {
                Ok(TagCounts {
                    label: r.get(0)?,
                    positives: r.get::<_, i64>(1)?.max(0) as usize,
                    negatives: r.get::<_, i64>(2)?.max(0) as usize,
                    tagged_files: r.get::<_, i64>(3)?.max(0) as usize,
                })
            })
            .map_err(sql(what))?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql(what))
    }

    /// Stores the embedding of region example `example_id` under `model_id`.
    pub fn set_region_vector(&self, example_id: i64, model_id: i64, vector: &[f32]) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO region_vectors(example_id, model_id, vector)
                 VALUES (?1, ?2, ?3)",
                params![example_id, model_id, f16_blob(vector)],
            )
            .map_err(sql("storing a region embedding"))?;
        Ok(())
    }

    /// The embedding of region example `example_id` under `model_id`, if computed.
    pub fn region_vector(&self, example_id: i64, model_id: i64) -> Result<Option<Vec<f32>>> {
        self.conn
            .query_row(
                "SELECT vector FROM region_vectors WHERE example_id = ?1 AND model_id = ?2",
                [example_id, model_id],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .optional()
            .map_err(sql("reading a region embedding"))
            .map(|b| b.map(|b| f16_values(&b)))
    }

    /// Stores the classifier of `label` under `model_id`, fitted on examples `examples_key`.
    pub fn store_head(
        &self,
        label: &str,
        model_id: i64,
        head: &TagClassifier,
        examples_key: &str,
    ) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO personal_heads(label, model_id, weights, bias, slope,
                 offset, positives, negatives, examples_key, fitted_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    label,
                    model_id,
                    f32_blob(&head.weights),
                    head.bias,
                    head.calibration.slope,
                    head.calibration.offset,
                    head.summary.positives as i64,
                    head.summary.negatives as i64,
                    examples_key,
                    now_ms()
                ],
            )
            .map_err(sql("storing a personal tag classifier"))?;
        Ok(())
    }

    /// The stored classifier of `label` under `model_id` with its examples marker.
    pub fn head(&self, label: &str, model_id: i64) -> Result<Option<(TagClassifier, String)>> {
        let row = self
            .conn
            .query_row(
                "SELECT weights, bias, slope, offset, positives, negatives, examples_key
                 FROM personal_heads WHERE label = ?1 AND model_id = ?2",
                params![label, model_id],
                |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, f64>(1)?,
                        r.get::<_, f64>(2)?,
                        r.get::<_, f64>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, String>(6)?,
                    ))
                },
            )
            .optional()
            .map_err(sql("reading a personal tag classifier"))?;
        Ok(row.map(|(w, bias, slope, offset, pos, neg, key)| {
            let head = TagClassifier {
                weights: f32_values(&w),
                bias,
                calibration: Calibration { slope, offset },
                summary: FitSummary {
                    positives: pos.max(0) as usize,
                    negatives: neg.max(0) as usize,
                    folds: 0,
                    iterations: 0,
                    converged: true,
                },
            };
            (head, key)
        }))
    }

    /// Replaces every `personal` row of `label` in `tags` with `(file_id, score)` pairs, in one
    /// transaction.
    pub fn replace_personal_tags(&mut self, label: &str, scores: &[(i64, f64)]) -> Result<()> {
        let what = "storing personal tag predictions";
        let tx = self.conn.transaction().map_err(sql(what))?;
        tx.execute(
            "DELETE FROM tags WHERE source = ?1 AND label = ?2",
            params![PERSONAL_SOURCE, label],
        )
        .map_err(sql(what))?;
        {
            let mut stmt = tx
                .prepare("INSERT INTO tags(file_id, source, label, score) VALUES (?1, ?2, ?3, ?4)")
                .map_err(sql(what))?;
            for (file_id, score) in scores {
                stmt.execute(params![file_id, PERSONAL_SOURCE, label, score])
                    .map_err(sql(what))?;
            }
        }
        tx.commit().map_err(sql(what))
    }

    /// Tags of file `file_id` as `(source, label, score)`, best score first.
    pub fn tags_of_file(&self, file_id: i64) -> Result<Vec<(String, String, f64)>> {
        let what = "reading a file's tags";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT source, label, score FROM tags WHERE file_id = ?1
                 ORDER BY score DESC, source, label",
            )
            .map_err(sql(what))?;
        let rows = stmt
            .query_map([file_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(sql(what))?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql(what))
    }

    /// Files carrying `label` (any source) with a score of at least `min_score`, best first
    /// (ties by path); a file tagged by several sources appears once, with its best score.
    pub fn tagged_files(&self, label: &str, min_score: f64) -> Result<Vec<TaggedFile>> {
        let what = "listing tagged files";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT f.path, f.duration_s, f.title, f.artist, max(t.score) AS s
                 FROM tags t JOIN files f ON f.id = t.file_id
                 WHERE t.label = ?1 AND t.score >= ?2 AND f.removed_at IS NULL
                 GROUP BY f.id ORDER BY s DESC, f.path",
            )
            .map_err(sql(what))?;
        let rows = stmt
            .query_map(params![label, min_score], |r| {
                Ok(TaggedFile {
                    path: r.get(0)?,
                    duration_s: r.get(1)?,
                    title: r.get(2)?,
                    artist: r.get(3)?,
                    score: r.get(4)?,
                })
            })
            .map_err(sql(what))?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql(what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library_with_file() -> (Library, i64) {
        let lib = Library::in_memory().unwrap();
        let root = lib.ensure_root("/music").unwrap();
        let id = lib
            .insert_pending(root, "/music/a.wav", 10, 0, "fp")
            .unwrap();
        (lib, id)
    }

    #[test]
    fn a_second_answer_replaces_the_first_and_changes_the_key() {
        let (mut lib, id) = library_with_file();
        let e1 = lib
            .add_example("warm", id, None, false, ExampleSource::Review)
            .unwrap();
        let key1 = lib.examples_key("warm").unwrap();
        let e2 = lib
            .add_example("warm", id, None, true, ExampleSource::Review)
            .unwrap();
        assert_ne!(e1, e2);
        let ex = lib.examples(Some("warm")).unwrap();
        assert_eq!(ex.len(), 1);
        assert!(ex[0].positive);
        assert_ne!(lib.examples_key("warm").unwrap(), key1);
        // A region of the same file is a separate example.
        let region = Region {
            start_s: 1.0,
            end_s: 2.5,
        };
        lib.add_example("warm", id, Some(region), true, ExampleSource::Manual)
            .unwrap();
        assert_eq!(lib.examples_of_file(id).unwrap().len(), 2);
        let counts = lib.personal_tags().unwrap();
        assert_eq!((counts[0].positives, counts[0].negatives), (2, 0));
    }

    #[test]
    fn bad_labels_and_regions_are_refused() {
        let (mut lib, id) = library_with_file();
        for bad in ["", " warm", "a\nb"] {
            assert!(
                lib.add_example(bad, id, None, true, ExampleSource::Manual)
                    .is_err()
            );
        }
        let backwards = Region {
            start_s: 3.0,
            end_s: 1.0,
        };
        let e = lib
            .add_example("warm", id, Some(backwards), true, ExampleSource::Manual)
            .unwrap_err();
        assert!(e.to_string().contains("region"), "{e}");
        assert!(lib.examples(None).unwrap().is_empty());
    }

    #[test]
    fn removing_a_file_removes_its_examples() {
        let (mut lib, id) = library_with_file();
        lib.add_example("warm", id, None, true, ExampleSource::Manual)
            .unwrap();
        lib.remove_file(id).unwrap();
        assert!(lib.examples(None).unwrap().is_empty());
    }
}
